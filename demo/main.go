// Command demo writes the demo loans that `make run` loads, one JSON loan a
// line (see internal/demo for what they show).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"dunning/internal/demo"
)

func main() {
	tz := flag.String("tz", "", "IANA time zone of the demo customers (default: one where it is now daytime)")
	flag.Parse()
	loans, err := demo.Loans(*tz, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	for _, l := range loans {
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
	}
}
