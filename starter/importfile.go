package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// maxLine bounds one JSONL line, as the API bounds a request body.
const maxLine = 1 << 20

// loanItem is one loan read from an import file, or why it could not be read.
type loanItem struct {
	// line is the loan's first line in the file, 1-based.
	line int
	loan policy.Loan
	// problems lists what made the loan unreadable; a loan with problems is
	// rejected without validation.
	problems []string
	// where maps a validation field path to where it is in the file, for
	// CSV loans whose fields spread over several rows and columns.
	where func(field string) string
}

// reasons says what is wrong with the loan in err, located in the file.
func (it loanItem) reasons(err error) []string {
	var v policy.ValidationError
	if !errors.As(err, &v) {
		return []string{err.Error()}
	}
	out := make([]string, 0, len(v))
	for _, fe := range v {
		at := fe.Field
		if it.where != nil {
			at = it.where(fe.Field)
		}
		if at == "" {
			out = append(out, fe.Problem)
		} else {
			out = append(out, at+": "+fe.Problem)
		}
	}
	return out
}

// readJSONL reads one loan per line, calling emit for each in file order
// until emit returns false. Blank lines are skipped. An error is returned
// only when the input itself cannot be read.
func readJSONL(r io.Reader, emit func(loanItem) bool) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read line %d: %w", n, err)
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			it := loanItem{line: n}
			if len(trimmed) > maxLine {
				it.problems = []string{fmt.Sprintf("line longer than %d bytes", maxLine)}
			} else if l, derr := policy.DecodeLoan(bytes.NewReader(trimmed)); derr != nil {
				it.problems = it.reasons(derr)
				it.loan.LoanID = looseLoanID(trimmed)
			} else {
				it.loan = l
			}
			if !emit(it) {
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// looseLoanID is the loan_id of a line that did not decode strictly, if it
// can be read at all, so a rejection can name the loan.
func looseLoanID(line []byte) string {
	var v struct {
		LoanID string `json:"loan_id"`
	}
	_ = json.Unmarshal(line, &v) // best effort: "" when it cannot be read
	return v.LoanID
}

// CSV import: one row per installment, rows of one loan together, the
// loan's fields repeated on each row (or left empty after the first).
// Columns may come in any order; interest, fee and the customer's optional
// fields may be left out.
var (
	csvColumns  = []string{"loan_id", "currency", "policy", "customer_id", "name", "phone", "email", "push_token", "locale", "time_zone", "seq", "due_date", "principal", "interest", "fee"}
	csvRequired = []string{"loan_id", "currency", "customer_id", "locale", "seq", "due_date", "principal"}
	// csvLoanColumns are the per-loan columns; the others are per row.
	csvLoanColumns = []string{"loan_id", "currency", "policy", "customer_id", "name", "phone", "email", "push_token", "locale", "time_zone"}
)

// csvRow is one row with its line number.
type csvRow struct {
	line   int
	values map[string]string
	bad    string // a row-level problem, such as a wrong number of fields
}

// readCSV reads loans from CSV with the header described by csvColumns and
// calls emit for each loan in file order until emit returns false. A bad
// header, or a line that is not CSV, is an error: rows after it cannot be
// trusted to belong to the right loan. The loan being read when the error
// occurs is rejected rather than started with rows missing.
func readCSV(r io.Reader, emit func(loanItem) bool) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty CSV: want a header line " + strings.Join(csvColumns, ","))
		}
		return fmt.Errorf("read CSV header: %w", err)
	}
	cols, err := csvHeader(header)
	if err != nil {
		return err
	}

	var group []csvRow
	flush := func() bool {
		if len(group) == 0 {
			return true
		}
		it := csvLoan(group)
		group = nil
		return emit(it)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			flush()
			return nil
		}
		var pe *csv.ParseError
		fieldCount := errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount)
		if err != nil && !fieldCount {
			if len(group) > 0 {
				group[0].bad = fmt.Sprintf("the loan's rows are cut short by the malformed line after line %d", group[len(group)-1].line)
				flush()
			}
			return fmt.Errorf("malformed CSV (nothing after it was read): %w", err)
		}
		line, _ := cr.FieldPos(0)
		row := csvRow{line: line, values: map[string]string{}}
		if fieldCount {
			row.bad = fmt.Sprintf("has %d fields, the header %d", len(rec), len(header))
		}
		for i, v := range rec {
			if i < len(cols) {
				row.values[cols[i]] = strings.TrimSpace(v)
			}
		}
		if len(group) > 0 && row.values["loan_id"] != group[0].values["loan_id"] {
			if !flush() {
				return nil
			}
		}
		group = append(group, row)
	}
}

// csvHeader checks the header and returns the column name of each field.
func csvHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		switch {
		case !slices.Contains(csvColumns, h):
			return nil, fmt.Errorf("CSV header: unknown column %q (known: %s)", h, strings.Join(csvColumns, ","))
		case seen[h]:
			return nil, fmt.Errorf("CSV header: column %q twice", h)
		}
		seen[h] = true
		cols[i] = h
	}
	var missing []string
	for _, c := range csvRequired {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("CSV header: missing column(s) %s", strings.Join(missing, ", "))
	}
	return cols, nil
}

// csvLoan builds a loan from its rows: the loan's fields from the first row
// (later rows must repeat them or leave them empty), one installment per row.
func csvLoan(rows []csvRow) loanItem {
	first := rows[0]
	it := loanItem{line: first.line}
	problem := func(line int, col, format string, args ...any) {
		at := fmt.Sprintf("line %d", line)
		if col != "" {
			at += ", " + col
		}
		it.problems = append(it.problems, at+": "+fmt.Sprintf(format, args...))
	}
	v := first.values
	it.loan = policy.Loan{
		LoanID: v["loan_id"], Currency: v["currency"], Policy: v["policy"],
		Customer: policy.Customer{
			ID: v["customer_id"], Name: v["name"], Phone: v["phone"], Email: v["email"],
			PushToken: v["push_token"], Locale: v["locale"], TimeZone: v["time_zone"],
		},
	}
	lines := make([]int, len(rows))
	for i, row := range rows {
		lines[i] = row.line
		if row.bad != "" {
			problem(row.line, "", "%s", row.bad)
		}
		if i > 0 {
			for _, c := range csvLoanColumns {
				if got := row.values[c]; got != "" && got != v[c] {
					problem(row.line, c, "%q differs from line %d of the same loan", got, first.line)
				}
			}
		}
		in := policy.Installment{}
		if s := row.values["seq"]; s == "" {
			problem(row.line, "seq", "must not be empty")
		} else if n, err := strconv.Atoi(s); err != nil {
			problem(row.line, "seq", "want a whole number, got %q", s)
		} else {
			in.Seq = n
		}
		if s := row.values["due_date"]; s == "" {
			problem(row.line, "due_date", "must not be empty")
		} else if dd, err := policy.ParseDate(s); err != nil {
			problem(row.line, "due_date", "%v", err)
		} else {
			in.DueDate = dd
		}
		for _, a := range []struct {
			col      string
			dst      *decimal.Decimal
			optional bool
		}{{"principal", &in.Principal, false}, {"interest", &in.Interest, true}, {"fee", &in.Fee, true}} {
			s := row.values[a.col]
			if s == "" {
				if !a.optional {
					problem(row.line, a.col, "must not be empty")
				}
				continue
			}
			dv, err := decimal.NewFromString(s)
			if err != nil {
				problem(row.line, a.col, `want a decimal amount such as "1234.50", got %q`, s)
				continue
			}
			*a.dst = dv
		}
		it.loan.Installments = append(it.loan.Installments, in)
	}
	it.where = func(field string) string { return csvWhere(field, first.line, lines) }
	return it
}

// installmentField matches "installments[3].due_date" and "installments[3]".
var installmentField = regexp.MustCompile(`^installments\[(\d+)\](?:\.(\w+))?$`)

// csvWhere turns a validation field path into "line N, column": where to fix
// it in the file.
func csvWhere(field string, first int, lines []int) string {
	if m := installmentField.FindStringSubmatch(field); m != nil {
		i, _ := strconv.Atoi(m[1])
		line := first
		if i < len(lines) {
			line = lines[i]
		}
		if m[2] == "" {
			return fmt.Sprintf("line %d", line)
		}
		return fmt.Sprintf("line %d, %s", line, m[2])
	}
	col := field
	switch field {
	case "":
		return fmt.Sprintf("line %d", first)
	case "customer":
		col = "phone/email/push_token"
	case "customer.id":
		col = "customer_id"
	case "installments":
		return fmt.Sprintf("line %d", first)
	default:
		col = strings.TrimPrefix(col, "customer.")
	}
	return fmt.Sprintf("line %d, %s", first, col)
}
