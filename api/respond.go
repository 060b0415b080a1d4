package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"dunning/policy"
)

// maxBody bounds every request body: a loan with hundreds of installments is
// a few tens of KiB.
const maxBody = 1 << 20

// errorBody is every error answer: what went wrong and, for bad input, which
// fields.
type errorBody struct {
	Error  string              `json:"error"`
	Fields []policy.FieldError `json:"fields,omitempty"`
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: fmt.Sprintf("encode answer: %v", err)})
	}
	writeRawJSON(w, code, b)
}

// writeRawJSON answers b, already JSON, with code.
func writeRawJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// writeError answers {"error": msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// writeInvalid answers 400 naming every field of a validation error.
func writeInvalid(w http.ResponseWriter, what string, err error) {
	fields := fieldErrors(err)
	writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid " + what + ": " + fields.Error(), Fields: fields})
}

// readBody reads the request body, at most maxBody bytes, and checks that it
// is JSON by its Content-Type (contentTypeProblem): a body sent as anything
// else, or with no Content-Type, is answered 415 Unsupported Media Type
// before it is parsed. An empty body (or only white space) is not checked,
// since there is nothing to parse: pause and resume may be sent without one,
// whatever Content-Type a client puts on an empty POST. A longer body is
// answered 413. ok is false when an answer was written.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "read request body: "+err.Error())
		return nil, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return b, true
	}
	switch ct := r.Header.Get("Content-Type"); {
	case ct == "":
		writeUnsupported(w, "missing: want application/json")
		return nil, false
	case contentTypeProblem(ct) != "":
		writeUnsupported(w, contentTypeProblem(ct))
		return nil, false
	}
	return b, true
}

// contentTypeProblem says why a request's Content-Type is not JSON, or "".
// The media type must be application/json (in any case); parameters are
// allowed, but a charset, if given, must be UTF-8, the only encoding JSON
// has (RFC 8259 §8.1).
func contentTypeProblem(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a media type: want application/json", truncateHeader(ct))
	case mt != "application/json":
		return fmt.Sprintf("%q is not supported: want application/json", truncateHeader(mt))
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		return fmt.Sprintf("charset %q is not supported: JSON is UTF-8", truncateHeader(params["charset"]))
	}
	return ""
}

// truncateHeader shortens a header value quoted in an answer.
func truncateHeader(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// writeUnsupported answers 415 naming the Content-Type header.
func writeUnsupported(w http.ResponseWriter, problem string) {
	writeJSON(w, http.StatusUnsupportedMediaType, errorBody{
		Error:  "unsupported Content-Type: " + problem,
		Fields: []policy.FieldError{{Field: "Content-Type", Problem: problem}},
	})
}
