package doccheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// root is the module root, seen from this package's directory.
const root = "../.."

const complianceDoc = "docs/COMPLIANCE.md"

// minRules is how many rules docs/COMPLIANCE.md must list at least.
const minRules = 8

var (
	// ruleHeading is a rule's heading: "## Rule 3 — Opt-out".
	ruleHeading = regexp.MustCompile(`^## Rule (\d+) — \S`)
	// citation is a cited test: `TestName` (package/path).
	citation = regexp.MustCompile("`(Test[A-Za-z0-9_]*)` \\(([A-Za-z0-9_./-]+)\\)")
	// anyTestName is any test name in backticks, cited properly or not.
	anyTestName = regexp.MustCompile("`(Test[A-Z0-9_][A-Za-z0-9_]*)`")
	// testFunc is a top-level test function in a _test.go file.
	testFunc = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]*)\(`)
)

type cite struct {
	name, pkg string
	line      int
}

type rule struct {
	heading string
	line    int
	cites   []cite
}

// parse reads the rules and every citation of the document. Citations
// outside a rule section (the introduction, "Not yet enforced") are
// returned too: they must exist as well.
// problems lists test names written without their package, which would go
// unchecked.
func parse(text string) (rules []rule, cites []cite, problems []string) {
	inRule := false
	for i, ln := range strings.Split(text, "\n") {
		n := i + 1
		if strings.HasPrefix(ln, "## ") {
			inRule = ruleHeading.MatchString(ln)
			if inRule {
				rules = append(rules, rule{heading: strings.TrimPrefix(ln, "## "), line: n})
			}
		}
		proper := 0
		for _, m := range citation.FindAllStringSubmatch(ln, -1) {
			c := cite{name: m[1], pkg: m[2], line: n}
			cites = append(cites, c)
			if inRule {
				rules[len(rules)-1].cites = append(rules[len(rules)-1].cites, c)
			}
			proper++
		}
		if all := anyTestName.FindAllString(ln, -1); len(all) > proper {
			problems = append(problems, fmt.Sprintf("%s:%d: a test name is not written as `TestName` (package): %s",
				complianceDoc, n, strings.TrimSpace(ln)))
		}
	}
	return rules, cites, problems
}

// testFuncs maps each test function name in the module to the package
// directories (slash-separated, relative to the module root) that declare it.
// Nested modules (a directory with its own go.mod), testdata, vendor and
// hidden directories are skipped, as the go command skips them.
func testFuncs(t *testing.T) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root {
				if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(found[m[1]], rel) {
				found[m[1]] = append(found[m[1]], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the module: %v", err)
	}
	if len(found) == 0 {
		t.Fatalf("no test functions found under %s", root)
	}
	return found
}

func TestComplianceDocCitesRealTests(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, complianceDoc))
	if err != nil {
		t.Fatal(err)
	}
	rules, cites, problems := parse(string(raw))
	for _, p := range problems {
		t.Error(p)
	}

	if len(rules) < minRules {
		t.Errorf("%s lists %d rules (headings \"## Rule N — …\"), want at least %d", complianceDoc, len(rules), minRules)
	}
	for i, r := range rules {
		if want := i + 1; !strings.HasPrefix(r.heading, "Rule "+strconv.Itoa(want)+" ") {
			t.Errorf("%s:%d: %q should be rule %d", complianceDoc, r.line, r.heading, want)
		}
		if len(r.cites) == 0 {
			t.Errorf("%s:%d: %q cites no test", complianceDoc, r.line, r.heading)
		}
	}
	if !strings.Contains(string(raw), "\n## Not yet enforced\n") {
		t.Errorf("%s has no \"## Not yet enforced\" section", complianceDoc)
	}

	found := testFuncs(t)
	var missing []string
	for _, c := range cites {
		dirs := found[c.name]
		if slices.Contains(dirs, c.pkg) {
			continue
		}
		msg := c.name + " (" + c.pkg + ") at " + complianceDoc + ":" + strconv.Itoa(c.line)
		if len(dirs) > 0 {
			sort.Strings(dirs)
			msg += ": declared in " + strings.Join(dirs, ", ") + " instead"
		} else {
			msg += ": no func " + c.name + "( in any _test.go file"
		}
		missing = append(missing, msg)
	}
	if len(missing) > 0 {
		t.Errorf("%d cited tests do not exist:\n\t%s", len(missing), strings.Join(missing, "\n\t"))
	}
	t.Logf("%d rules, %d citations checked", len(rules), len(cites))
}

// TestParseFlagsBareTestNames: a test name without its package would not be
// checked, so the parser refuses it.
func TestParseFlagsBareTestNames(t *testing.T) {
	doc := "## Rule 1 — x\n\n- `TestA` (policy)\n- `TestB` and `TestC` (api)\n## Other\n`TestD` (e2e)\n"
	rules, cites, problems := parse(doc)
	if len(problems) != 1 || !strings.Contains(problems[0], ":4:") {
		t.Errorf("problems %q, want the bare `TestB` on line 4", problems)
	}
	if len(rules) != 1 || len(rules[0].cites) != 2 {
		t.Errorf("rules %+v", rules)
	}
	want := []cite{{"TestA", "policy", 3}, {"TestC", "api", 4}, {"TestD", "e2e", 6}}
	if !slices.Equal(cites, want) {
		t.Errorf("cites %+v, want %+v", cites, want)
	}
}
