package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/converter"

	"dunning/codec"
	"dunning/internal/replay"
	"dunning/internal/temporalutil"
)

// cmdReplay: replay [-query Q | -closed D] [-limit N] [-out DIR], or
// replay -dir DIR. It prints OK or FAIL per history and fails if any does.
func (c *cli) cmdReplay(ctx context.Context, args []string) error {
	fs := c.flags("replay")
	query := fs.String("query", "", "visibility query of the runs to replay (default: "+replay.DefaultQuery+")")
	closed := fs.Duration("closed", 0, "also replay the runs closed within this long, such as 168h (not with -query)")
	limit := fs.Int("limit", 100, "replay at most this many runs")
	out := fs.String("out", "", "save each downloaded history as JSON in this directory; an existing file is never overwritten")
	dir := fs.String("dir", "", "replay the histories saved in this directory (by -out) instead of downloading")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	q := *query
	switch {
	case *limit < 1:
		return usagef("-limit must be at least 1")
	case *closed < 0:
		return usagef("-closed must be positive")
	case *closed > 0 && q != "":
		return usagef("-closed and -query do not go together: put CloseTime in the query")
	case *dir != "" && (q != "" || *closed > 0 || *out != ""):
		return usagef("-dir replays saved histories: -query, -closed and -out are for downloading")
	}
	if q == "" {
		q = replay.DefaultQuery
		if *closed > 0 {
			q = replay.QueryWithClosed(time.Now().Add(-*closed))
		}
	}
	dc, err := dataConverter(c.getenv)
	if err != nil {
		return err
	}
	rp, err := replay.New(dc)
	if err != nil {
		return err
	}
	var ok, failed int
	report := func(r replay.Result) {
		c.printReplay(r)
		if r.OK() {
			ok++
		} else {
			failed++
		}
	}
	if *dir != "" {
		err = rp.Dir(*dir, report)
	} else {
		err = c.replayCluster(ctx, rp, q, *limit, *out, report)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%d histories replayed: %d OK, %d FAIL\n", ok+failed, ok, failed)
	if ok+failed == 0 && *dir == "" {
		fmt.Fprintf(c.stderr, "starter replay: no run matches %s\n", q)
	}
	if failed > 0 {
		return errReported
	}
	return nil
}

// replayCluster downloads and replays the runs q matches.
func (c *cli) replayCluster(ctx context.Context, rp *replay.Replayer, q string, limit int, out string, report func(replay.Result)) error {
	tc, err := temporalutil.Dial(ctx, c.sdkLogger(), dialWait)
	if err != nil {
		return err
	}
	defer tc.Close()
	return rp.Cluster(ctx, tc, q, limit, out, report)
}

// printReplay prints one verdict as a line: OK or FAIL, the run or file, the
// number of events, where it was saved, and why it failed.
func (c *cli) printReplay(r replay.Result) {
	verdict := "OK  "
	if !r.OK() {
		verdict = "FAIL"
	}
	line := fmt.Sprintf("%s %s (%d events)", verdict, r.Name, r.Events)
	switch {
	case r.Kept:
		line += ", kept the existing " + r.Saved
	case r.Saved != "":
		line += ", saved to " + r.Saved
	}
	if !r.OK() {
		line += ": " + r.Err.Error()
	}
	fmt.Fprintln(c.stdout, line)
}

// dataConverter is the codec's data converter when DUNNING_ENCRYPTION_KEYS
// is set (the histories of an encrypted cluster replay only with its keys),
// else nil: plain JSON payloads.
func dataConverter(getenv func(string) string) (converter.DataConverter, error) {
	cdc, err := temporalutil.Codec(getenv)
	if err != nil || cdc == nil {
		return nil, err
	}
	return codec.DataConverter(cdc), nil
}
