package main

import "testing"

func TestWorkflowCacheSize(t *testing.T) {
	for _, tt := range []struct {
		env     string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{" 2000 ", 2000, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"2k", 0, true},
	} {
		got, err := workflowCacheSize(func(k string) string {
			if k == "WORKFLOW_CACHE_SIZE" {
				return tt.env
			}
			return ""
		})
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("WORKFLOW_CACHE_SIZE=%q: %d, %v", tt.env, got, err)
		}
	}
}
