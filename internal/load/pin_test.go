package load

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requiredVersion is the version the go.mod at path requires of module mod.
func requiredVersion(t *testing.T, path, mod string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s does not require %s", path, mod)
	return ""
}

// make load TEMPORAL=postgres builds the server from
// tools/temporal-server/go.mod; the dev server is the CLI's (tools/go.mod).
// Both columns of docs/PERFORMANCE.md must run the same server code, so the
// two pins move together.
func TestSelfHostedServerPinMatchesCLI(t *testing.T) {
	root := filepath.Join("..", "..", "tools")
	cli := requiredVersion(t, filepath.Join(root, "go.mod"), "go.temporal.io/server")
	own := requiredVersion(t, filepath.Join(root, "temporal-server", "go.mod"), "go.temporal.io/server")
	if cli != own {
		t.Errorf("tools/temporal-server/go.mod pins go.temporal.io/server %s, the CLI in tools/go.mod embeds %s: move them together", own, cli)
	}
}
