// Package deploy checks the files users deploy with: docker-compose.yml is
// validated against the Compose specification (no Docker engine needed).
package deploy

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

func TestComposeFileIsValid(t *testing.T) {
	path, err := filepath.Abs(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("dunning"), cli.WithOsEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	names := p.ServiceNames()
	for _, want := range []string{"postgres", "temporal", "temporal-ui", "mail", "worker", "api"} {
		if !slices.Contains(names, want) {
			t.Errorf("service %q missing (have %v)", want, names)
		}
	}
	for _, svc := range []string{"worker", "api"} {
		s := p.Services[svc]
		if s.Environment["TEMPORAL_ADDRESS"] == nil || s.Environment["DATABASE_URL"] == nil {
			t.Errorf("%s lacks TEMPORAL_ADDRESS or DATABASE_URL", svc)
		}
	}
	if _, ok := p.Services["api"].Environment["API_TOKEN"]; !ok {
		t.Error("api does not pass API_TOKEN through")
	}
}
