package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

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

// readBody reads the request body, at most maxBody bytes. A longer body is
// answered 413 and ok is false.
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
	return b, true
}
