package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		max  int
		want string // "" valid
	}{
		{"L-2026-0001", MaxLoanIDLen, ""},
		{"0", MaxLoanIDLen, ""},
		{"a.b_c-d", MaxLoanIDLen, ""},
		{"L..", MaxLoanIDLen, ""},
		{"", MaxLoanIDLen, "must not be empty"},
		{".", MaxLoanIDLen, "must start with a letter or a digit"},
		{"..", MaxLoanIDLen, "must start with a letter or a digit"},
		{".hidden", MaxLoanIDLen, "must start with a letter or a digit"},
		{"-x", MaxLoanIDLen, "must start with a letter or a digit"},
		{"_x", MaxLoanIDLen, "must start with a letter or a digit"},
		{"L/1", MaxLoanIDLen, "use only letters"},
		{"L 1", MaxLoanIDLen, "use only letters"},
		{"L\x00", MaxLoanIDLen, "use only letters"},
		{"Lé", MaxLoanIDLen, "use only letters"},
		{strings.Repeat("x", 64), MaxLoanIDLen, ""},
		{strings.Repeat("x", 65), MaxLoanIDLen, "must be at most 64 characters, got 65"},
		{strings.Repeat("x", 129), MaxTxnIDLen, "must be at most 128 characters, got 129"},
	} {
		err := ValidateID("id", tc.id, tc.max)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidateID(%q) = %v; want nil", tc.id, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ValidateID(%q) = %v; want %q", tc.id, err, tc.want)
		case err != nil && !slices.Equal(vtFields(t, err), []string{"id"}):
			t.Errorf("ValidateID(%q) fields %q", tc.id, vtFields(t, err))
		}
	}
}

func TestValidateReason(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        string
		required bool
		want     string // "" valid
	}{
		{"empty, optional", "", false, ""},
		{"empty, required", "", true, "must not be empty"},
		{"blank, required", " \u3000 ", true, "must not be empty"},
		{"text", "hardship review", true, ""},
		{"Chinese", "客户申请困难延期", true, ""},
		{"500 characters", strings.Repeat("理", 500), true, ""},
		{"501 characters", strings.Repeat("理", 501), false, "must be at most 500 characters, got 501"},
		{"newline", "line one\nline two", false, "control characters (found U+000A)"},
		{"NUL", "x\x00", false, "control characters (found U+0000)"},
		{"carriage return", "x\r", true, "control characters"},
		{"ESC sequence", "\x1b[31mred", false, "control characters (found U+001B)"},
		{"only a newline, required", "\n", true, "control characters"},
		{"invalid UTF-8", "\xff", false, "must be valid UTF-8"},
		{"paragraph separator", "a\u2029b", false, "line or paragraph separators"},
		{"isolate", "a\u2066b", false, "bidirectional"},
		{"replacement character", "\uFFFD", false, "U+FFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateReason("reason", tc.s, tc.required)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ValidateReason = %v; want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ValidateReason = %v; want %q", err, tc.want)
			case err != nil && !slices.Equal(vtFields(t, err), []string{"reason"}):
				t.Errorf("fields %q", vtFields(t, err))
			}
		})
	}
}

func TestValidateActor(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		want string // "" valid
	}{
		{"operator id", "li.wei", ""},
		{"work email", "ops.li@lender.cn", ""},
		{"email with a tag", "li.wei+night@lender.example", ""},
		{"service account", "svc-backoffice_2", ""},
		{"digit first", "007", ""},
		{"128 bytes", strings.Repeat("a", MaxActorLen), ""},
		{"empty", "", "must not be empty"},
		{"129 bytes", strings.Repeat("a", MaxActorLen+1), "must be at most 128 characters, got 129"},
		{"a name with a space", "Li Wei", "use only letters"},
		{"Chinese name", "李伟", "must start with a letter or a digit"},
		{"starts with @", "@li", "must start with a letter or a digit"},
		{"starts with -", "-x", "must start with a letter or a digit"},
		{"display name form", "Li <li@lender.cn>", "use only letters"},
		{"formula", "a=HYPERLINK(1)", "use only letters"},
		{"quote", `li"wei`, "use only letters"},
		{"newline", "li\nwei", "use only letters"},
		{"NUL", "li\x00", "use only letters"},
		{"invalid UTF-8", "li\xff", "use only letters"},
		{"1 MiB", strings.Repeat("a", 1<<20), "must be at most 128 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateActor("actor", tc.s)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ValidateActor = %v; want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ValidateActor = %v; want %q", err, tc.want)
			case err != nil && !slices.Equal(vtFields(t, err), []string{"actor"}):
				t.Errorf("fields %q", vtFields(t, err))
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("the problem quotes the whole value: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestDateBounds(t *testing.T) {
	for _, tc := range []struct {
		d  string
		ok bool
	}{
		{"1970-01-01", false}, {"1999-12-31", false}, {"2000-01-01", true}, {"2026-12-01", true},
		{"2100-12-31", true}, {"2101-01-01", false},
	} {
		if got := dateProblem(MustDate(tc.d)) == ""; got != tc.ok {
			t.Errorf("dateProblem(%s) ok = %v; want %v", tc.d, got, tc.ok)
		}
	}
	if dateProblem(Date{}) == "" || dateProblem(Date{-1, 1, 1}) == "" {
		t.Error("dateProblem accepts year 0 or -1")
	}
	for _, tc := range []struct {
		t  time.Time
		ok bool
	}{
		{time.Time{}, false},
		{time.Unix(0, 0).UTC(), false},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		// By its own calendar date: 1999-12-31T20:00Z written in +08:00.
		{time.Date(2000, 1, 1, 4, 0, 0, 0, time.FixedZone("CST", 8*3600)), true},
		{time.Date(1999, 12, 31, 23, 0, 0, 0, time.FixedZone("EST", -5*3600)), false},
		{time.Date(2100, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		if got := timeProblem(tc.t) == ""; got != tc.ok {
			t.Errorf("timeProblem(%s) ok = %v; want %v", tc.t, got, tc.ok)
		}
	}
}

func TestLimitsAgree(t *testing.T) {
	if MaxOptOuts != len(AllChannels) {
		t.Errorf("MaxOptOuts = %d; want len(AllChannels) = %d", MaxOptOuts, len(AllChannels))
	}
	if !MinDate.Before(MaxDate) || MinDate != MustDate("2000-01-01") || MaxDate != MustDate("2100-12-31") {
		t.Errorf("date window %s..%s", MinDate, MaxDate)
	}
	// A 50-year monthly mortgage starting today fits both bounds.
	ins := monthly(MaxInstallments, "2026-12-01")
	if v := ValidateInstallments("installments", "CNY", ins); v != nil || ins[len(ins)-1].DueDate.After(MaxDate) {
		t.Errorf("a 600-month schedule: %v (last due %s)", v, ins[len(ins)-1].DueDate)
	}
}
