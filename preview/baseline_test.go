package preview

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// TestPreviewBaseline compares previews and simulations with a record made
// by another build, to show a change to the speed of the lab (or of the
// balance engine under it) changes no result. It runs only when
// DUNNING_PREVIEW_BASELINE names a file: if the file does not exist it
// writes it, otherwise it compares. Record with the build before the
// change, compare with the build after:
//
//	mkdir /tmp/before && git archive <commit> | tar -x -C /tmp/before && cp preview/baseline_test.go /tmp/before/preview/
//	(cd /tmp/before && DUNNING_PREVIEW_BASELINE=/tmp/base.txt go test -run TestPreviewBaseline ./preview/)
//	DUNNING_PREVIEW_BASELINE=/tmp/base.txt go test -run TestPreviewBaseline ./preview/
//
// The record holds, for DUNNING_PREVIEW_BASELINE_LOANS loans (default 100)
// of a generated book of 12 installments under the default policy and
// docs/policy-lab/lenient.yaml, the SHA-256 of each full preview's JSON
// (every point with its balance, message and rungs not sent; the borrower
// repaying as a pay model of every behaviour draws, or with payments of
// its own: part of an installment, more than everything, the same txn_id
// twice, a recovery after charge-off), then the report of a simulation of
// the whole book under both policies, line by line.
func TestPreviewBaseline(t *testing.T) {
	path := os.Getenv("DUNNING_PREVIEW_BASELINE")
	if path == "" {
		t.Skip("DUNNING_PREVIEW_BASELINE is not set")
	}
	n := 100
	if s := os.Getenv("DUNNING_PREVIEW_BASELINE_LOANS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("DUNNING_PREVIEW_BASELINE_LOANS=%q", s)
		}
	}
	raw, err := os.ReadFile("../docs/policy-lab/lenient.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lab, err := policy.Parse("lenient", raw)
	if err != nil {
		t.Fatal(err)
	}
	pols := []policy.Policy{policy.Default(), lab}
	m, err := ParsePayModel("on-time=0.3,early-5=0.1,late-7=0.2,late-40=0.2,never=0.2")
	if err != nil {
		t.Fatal(err)
	}
	book := GenerateBook(n, 12, policy.MustDate("2027-01-01"), 23)
	tr := renderer(t)
	var lines []string
	for i, l := range book {
		loc, err := l.Location(policy.Default())
		if err != nil {
			t.Fatal(err)
		}
		for _, pol := range pols {
			due := l.Installments[0].DueDate
			owed := l.Installments[0].Principal.Add(l.Installments[0].Interest)
			var pays []Payment
			switch i % 6 {
			case 0, 1, 2:
				if pays, err = m.draw(23, l.LoanID).payments(l, pol); err != nil {
					t.Fatal(err)
				}
			case 3:
				pays = []Payment{{At: due.AddDays(5).At(loc, 10, 0), Amount: owed.Div(decimal.NewFromInt(3)).Round(2)}}
			case 4:
				pays = []Payment{{At: due.AddDays(-2).At(loc, 9, 0), Amount: owed.Mul(decimal.NewFromInt(13)), TxnID: "BIG"},
					{At: due.AddDays(3).At(loc, 9, 0), Amount: owed, TxnID: "BIG"}}
			case 5:
				pays = []Payment{{At: due.AddDays(150).At(loc, 15, 0), Amount: owed}}
			}
			tl, err := Run(context.Background(), l, Options{Policy: pol, Templates: tr, Payments: pays})
			if err != nil {
				t.Fatalf("loan %s under %s: %v", l.LoanID, pol.Name, err)
			}
			b, err := tl.JSON()
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%s %s %x", l.LoanID, pol.Name, sha256.Sum256(b)))
		}
	}
	rep, err := Simulate(context.Background(), book, SimOptions{Policies: pols, PayModel: m, Seed: 23,
		SMSPrice: decimal.RequireFromString("0.05"), Templates: tr})
	if err != nil {
		t.Fatal(err)
	}
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, strings.Split(string(b), "\n")...)

	old, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d previews and the simulation report in %s", 2*n, path)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(old), "\n"), "\n")
	sc := bufio.NewScanner(strings.NewReader(strings.Join(lines, "\n")))
	for i := 0; sc.Scan(); i++ {
		if i >= len(want) || sc.Text() != want[i] {
			w := "(nothing)"
			if i < len(want) {
				w = want[i]
			}
			t.Fatalf("line %d of %s differs:\nrecorded %s\nnow      %s", i+1, path, w, sc.Text())
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, %d recorded", len(lines), len(want))
	}
	t.Logf("%d previews and the simulation report are as recorded in %s", 2*n, path)
}
