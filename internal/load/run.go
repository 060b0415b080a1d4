package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"dunning/internal/demo"
	"dunning/internal/temporalutil"
	"dunning/policy"
	"dunning/workflows"
)

// Figures is everything one run measured; Summary is the line of it.
type Figures struct {
	N                              int
	Onboard, OnboardBare           float64 // loans/s, bare starts/s
	OnboardP50, OnboardP99         time.Duration
	Burst, BurstBare               float64 // loans fully notified/s, one-activity workflows/s
	BurstNotices                   int     // final notice rows of the burst
	BurstSecs, BurstBareSecs       float64
	Repay, RepayBare               float64 // requests/s, bare updates/s
	RepayP50, RepayP99             time.Duration
	RepayBareP50, RepayBareP99     time.Duration
	RepayCodes                     map[int]int
	Status5xx                      int
	EventsPerPoint, EventsPerRepay float64
	EventsAtStart                  float64
	// EventsPerInstallment and MaxRunEvents are measured on lifecycles
	// (internal/lifecycle: the real workflow through a year or thirty in
	// the time-skipping environment, its events counted by the rules that
	// package checks against real histories): a 12-installment loan paid on
	// time, and the largest run of that, of a loan never paid and of a
	// 360-installment loan. MaxRunSeen is the largest run of the load's own
	// loans on the server.
	EventsPerInstallment          float64
	MaxRunEvents, MaxRunSeen      int
	ChargeOffEvents               int
	IdleRSS, LoadedRSS, RSSPer10k float64 // MiB
	PGBytesPerNotice              float64
	NoticeRows                    int
	Deliveries, Duplicates, Lost  int
	LoadAvgStart, LoadAvgEnd      string
}

// Summary is the last line.
func (f Figures) Summary() Summary {
	return Summary{
		OnboardRatio: Ratio(f.Onboard, f.OnboardBare), BurstRatio: Ratio(f.Burst, f.BurstBare),
		RepayRatio: Ratio(f.Repay, f.RepayBare), EventsPerInstallment: f.EventsPerInstallment,
		MaxRunEvents: f.MaxRunEvents, RSSMBPer10k: f.RSSPer10k, Status5xx: f.Status5xx,
		Duplicates: f.Duplicates, Lost: f.Lost,
	}
}

// Run starts the stack, measures every phase and prints the table and the
// summary line to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "[load %s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}
	f := Figures{N: cfg.N, RepayCodes: map[int]int{}, LoadAvgStart: loadAvg()}
	st, err := startStack(ctx, cfg, logf)
	if err != nil {
		return err
	}
	defer st.stop()
	for _, kv := range st.env {
		if k, v, ok := strings.Cut(kv, "="); ok && (k == "TEMPORAL_ADDRESS" || k == "DUNNING_ENCRYPTION_KEYS") {
			os.Setenv(k, v)
		}
	}
	opts, err := temporalutil.Options(slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	db, err := pgxpool.New(ctx, st.dbURL)
	if err != nil {
		return err
	}
	defer db.Close()

	// Idle worker: its RSS with no loans (it also migrates the database).
	if err := st.startWorker(ctx, "worker-idle.log"); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	f.IdleRSS, _ = rssMB(st.worker.cmd.Process.Pid)
	st.stopWorker()
	logf("idle worker RSS %.0f MiB", f.IdleRSS)

	loans, err := makeLoans(cfg.N, time.Now())
	if err != nil {
		return err
	}
	// 1. Onboarding, no worker polling: the API's starts vs bare starts.
	logf("onboarding %d loans through the API", cfg.N)
	d, lat, codes := parallel(cfg.Clients, len(loans), func(i int) int { return postJSON(ctx, "http://"+cfg.APIAddr+"/v1/loans", loans[i]) })
	f.Onboard, f.OnboardP50, f.OnboardP99 = Rate(cfg.N, d), Percentile(lat, 50), Percentile(lat, 99)
	if codes[http.StatusCreated] != cfg.N {
		return fmt.Errorf("onboarding: answers %v, want %d × 201", codes, cfg.N)
	}
	f.Status5xx += count5xx(codes)
	logf("bare starts: %d workflows that only wait", cfg.N)
	d, _, codes = parallel(cfg.Clients, cfg.N, func(i int) int {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bare-wait-%d", i), TaskQueue: BareWaitQueue}, BareWait)
		return okCode(err)
	})
	if codes[200] != cfg.N {
		return fmt.Errorf("bare starts failed: %v", codes)
	}
	f.OnboardBare = Rate(cfg.N, d)

	// 2. Burst: the worker comes up to N loans whose catch-up point is due.
	logf("burst: starting the worker on %d due loans", cfg.N)
	t0 := time.Now()
	if err := st.startWorker(ctx, "worker.log"); err != nil {
		return err
	}
	end, err := waitQuiet(ctx, db, cfg, logf)
	if err != nil {
		return err
	}
	f.BurstSecs = end.Sub(t0).Seconds()
	f.Burst = Rate(cfg.N, end.Sub(t0))
	f.LoadedRSS, _ = rssMB(st.worker.cmd.Process.Pid)
	f.RSSPer10k = f.IdleRSS + (f.LoadedRSS-f.IdleRSS)*10000/float64(cfg.N)
	_ = db.QueryRow(ctx, `select count(*) from notices where status <> 'pending'`).Scan(&f.BurstNotices)
	logf("burst done in %.1fs (%d notices); worker RSS %.0f MiB", f.BurstSecs, f.BurstNotices, f.LoadedRSS)

	logf("bare burst: %d one-activity workflows", cfg.N)
	runs := make([]client.WorkflowRun, cfg.N)
	_, _, codes = parallel(cfg.Clients, cfg.N, func(i int) int {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bare-activity-%d", i), TaskQueue: BareActivityQueue}, BareActivity)
		runs[i] = r
		return okCode(err)
	})
	if codes[200] != cfg.N {
		return fmt.Errorf("bare activity starts failed: %v", codes)
	}
	bw := worker.New(c, BareActivityQueue, worker.Options{})
	registerBare(bw)
	t0 = time.Now()
	if err := bw.Start(); err != nil {
		return err
	}
	_, _, codes = parallel(cfg.Clients, cfg.N, func(i int) int { return okCode(runs[i].Get(ctx, nil)) })
	d = time.Since(t0)
	bw.Stop()
	if codes[200] != cfg.N {
		return fmt.Errorf("bare activity workflows failed: %v", codes)
	}
	f.BurstBareSecs, f.BurstBare = d.Seconds(), Rate(cfg.N, d)

	// History after one point.
	ids := make([]string, min(cfg.HistorySample, cfg.N))
	for i := range ids {
		ids[i] = workflows.WorkflowID(loans[i].LoanID)
	}
	before := historyLens(ctx, c, ids)

	// 3. Repayments: the API vs bare updates.
	ww := worker.New(c, BareWaitQueue, worker.Options{})
	registerBare(ww)
	if err := ww.Start(); err != nil {
		return err
	}
	defer ww.Stop()
	logf("warming %d bare workflows (one untimed update each)", cfg.N)
	_, _, _ = parallel(cfg.Clients, cfg.N, func(i int) int { return bareUpdate(ctx, c, i, -1) })
	logf("repayments: %d × %d through the API", cfg.N, cfg.Repayments)
	var mu sync.Mutex
	var repayLat []time.Duration
	d, _, _ = parallel(cfg.Clients, cfg.N, func(i int) int {
		for k := range cfg.Repayments {
			url, body := repayment(loans[i].LoanID, k)
			t := time.Now()
			code := postJSON(ctx, url(cfg.APIAddr), body)
			el := time.Since(t)
			mu.Lock()
			repayLat = append(repayLat, el)
			f.RepayCodes[code]++
			mu.Unlock()
		}
		return 200
	})
	f.Repay = Rate(cfg.N*cfg.Repayments, d)
	f.RepayP50, f.RepayP99 = Percentile(repayLat, 50), Percentile(repayLat, 99)
	f.Status5xx += count5xx(f.RepayCodes)
	logf("bare updates: %d × %d", cfg.N, cfg.Repayments)
	var bareLat []time.Duration
	d, _, codes = parallel(cfg.Clients, cfg.N, func(i int) int {
		for k := range cfg.Repayments {
			t := time.Now()
			code := bareUpdate(ctx, c, i, k)
			el := time.Since(t)
			mu.Lock()
			bareLat = append(bareLat, el)
			mu.Unlock()
			if code != 200 {
				return code
			}
		}
		return 200
	})
	if codes[200] != cfg.N {
		return fmt.Errorf("bare updates failed: %v", codes)
	}
	f.RepayBare = Rate(cfg.N*cfg.Repayments, d)
	f.RepayBareP50, f.RepayBareP99 = Percentile(bareLat, 50), Percentile(bareLat, 99)

	// 4. History, rows, duplicates and losses once the repayments' notices settle.
	if _, err := waitQuiet(ctx, db, cfg, logf); err != nil {
		return err
	}
	after := historyLens(ctx, c, ids)
	applied := 0
	for k := range cfg.Repayments {
		if repaymentKind(k) == "new" {
			applied++
		}
	}
	f.EventsAtStart, f.EventsPerPoint, f.EventsPerRepay, f.MaxRunSeen = historyFigures(before, after, applied)
	logf("measuring the history of three lifecycles (internal/lifecycle)")
	lc, err := measureLifecycles(ctx)
	if err != nil {
		return err
	}
	f.EventsPerInstallment, f.ChargeOffEvents = lc.EventsPerInstallment, lc.ChargeOffEvents
	f.MaxRunEvents = max(lc.MaxRunEvents, f.MaxRunSeen)
	var size int64
	_ = db.QueryRow(ctx, `select pg_total_relation_size('notices'), count(*) from notices`).Scan(&size, &f.NoticeRows)
	if f.NoticeRows > 0 {
		f.PGBytesPerNotice = float64(size) / float64(f.NoticeRows)
	}
	f.Deliveries, f.Duplicates, f.Lost, err = audit(ctx, db, filepath.Join(cfg.Dir, "worker.log"), loans)
	if err != nil {
		return err
	}
	f.LoadAvgEnd = loadAvg()
	printTable(out, cfg, f)
	fmt.Fprintln(out, f.Summary().Line())
	return nil
}

// makeLoans are n loans of 12 monthly installments whose first is 7 days
// overdue today (the +7 rung: sms, email, push), for customers in a zone
// where it is now daytime, each with addresses of its own (no caps shared).
func makeLoans(n int, now time.Time) ([]policy.Loan, error) {
	tz := demo.DaytimeZone(now)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	today := policy.LocalDate(now, loc)
	out := make([]policy.Loan, n)
	for i := range n {
		l := demo.Loan(i+1, 7, 12, "1000.00", today, tz)
		l.LoanID = fmt.Sprintf("L-LOAD-%06d", i+1)
		l.Customer.ID = fmt.Sprintf("C-LOAD-%06d", i+1)
		l.Customer.Phone = fmt.Sprintf("+86139%08d", i+1)
		l.Customer.Email = fmt.Sprintf("load%06d@example.cn", i+1)
		l.Customer.PushToken = fmt.Sprintf("load-push-token-%06d", i+1)
		if err := policy.ValidateLoan(l, nil, nil); err != nil {
			return nil, fmt.Errorf("load loan %s: %w", l.LoanID, err)
		}
		out[i] = l
	}
	return out, nil
}

// repaymentKind is what the k-th request of a loan is: out of each ten,
// seven new repayments, a repeat of the one before (same answer), one with a
// negative amount (400) and one reusing a txn_id with another amount (409).
func repaymentKind(k int) string {
	switch k % 10 {
	case 3:
		return "repeat"
	case 6:
		return "invalid"
	case 9:
		return "conflict"
	}
	return "new"
}

func repayment(loanID string, k int) (func(addr string) string, map[string]string) {
	url := func(addr string) string { return "http://" + addr + "/v1/loans/" + loanID + "/repayments" }
	switch repaymentKind(k) {
	case "repeat":
		return url, map[string]string{"txn_id": fmt.Sprintf("T-%s-%d", loanID, k-1), "amount": "1.00"}
	case "invalid":
		return url, map[string]string{"txn_id": fmt.Sprintf("T-%s-%d", loanID, k), "amount": "-1.00"}
	case "conflict":
		return url, map[string]string{"txn_id": fmt.Sprintf("T-%s-%d", loanID, k-1), "amount": "2.00"}
	}
	return url, map[string]string{"txn_id": fmt.Sprintf("T-%s-%d", loanID, k), "amount": "1.00"}
}

var httpClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// postJSON posts v and returns the status code, 0 when no answer came.
func postJSON(ctx context.Context, url string, v any) int {
	b, _ := json.Marshal(v)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func bareUpdate(ctx context.Context, c client.Client, i, v int) int {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: fmt.Sprintf("bare-wait-%d", i),
		UpdateName: BareUpdate, Args: []any{v}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		var got int
		err = h.Get(ctx, &got)
	}
	return okCode(err)
}

func okCode(err error) int {
	if err != nil {
		return 500
	}
	return 200
}

func count5xx(codes map[int]int) int {
	n := 0
	for c, k := range codes {
		if c >= 500 || c == 0 {
			n += k
		}
	}
	return n
}

// parallel runs do(0..n-1) on c goroutines and returns the wall time, each
// call's latency and the count of each code.
func parallel(c, n int, do func(i int) int) (time.Duration, []time.Duration, map[int]int) {
	lat := make([]time.Duration, n)
	codes := make([]int, n)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(c, n) {
		wg.Go(func() {
			for i := range next {
				t := time.Now()
				codes[i] = do(i)
				lat[i] = time.Since(t)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	d := time.Since(start)
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	return d, lat, m
}

// waitQuiet waits until the notices and ledger of the load loans stop
// changing for cfg.Quiet with no notice pending, and returns when the last
// row was written.
func waitQuiet(ctx context.Context, db *pgxpool.Pool, cfg Config, logf func(string, ...any)) (time.Time, error) {
	deadline := time.Now().Add(cfg.Timeout)
	var last string
	changed := time.Now()
	for {
		var final, pending, ledger int
		var lastRow time.Time
		err := db.QueryRow(ctx, `select
			(select count(*) from notices where status <> 'pending'),
			(select count(*) from notices where status = 'pending'),
			(select count(*) from ledger),
			greatest((select coalesce(max(updated_at), 'epoch') from notices), (select coalesce(max(recorded_at), 'epoch') from ledger))`).
			Scan(&final, &pending, &ledger, &lastRow)
		if err != nil {
			return time.Time{}, fmt.Errorf("poll notices: %w", err)
		}
		state := fmt.Sprint(final, pending, ledger)
		if state != last {
			last, changed = state, time.Now()
			logf("  notices final=%d pending=%d ledger=%d", final, pending, ledger)
		}
		if final > 0 && pending == 0 && time.Since(changed) >= cfg.Quiet {
			return lastRow, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("notices still changing after %s (final=%d pending=%d)", cfg.Timeout, final, pending)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// runLen is the events of a workflow's current run and how many runs it had.
type runLen struct{ events, runs, maxRun int }

func historyLens(ctx context.Context, c client.Client, ids []string) []runLen {
	out := make([]runLen, len(ids))
	for i, id := range ids {
		runID := ""
		for {
			it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			n, next := 0, ""
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					break
				}
				n++
				if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
					next = a.GetNewExecutionRunId()
				}
			}
			out[i].runs++
			out[i].maxRun = max(out[i].maxRun, n)
			if runID == "" || next == "" {
				out[i].events += n
			}
			if next == "" || runID != "" {
				break
			}
			runID = next
		}
	}
	return out
}

// historyFigures: the events of a run up to and including its first point
// (start plus catch-up), the events that point added beyond the start's
// (taken as the start's workflow task and search attributes: see
// PERFORMANCE.md), the events per applied repayment, and the largest run.
func historyFigures(before, after []runLen, applied int) (atStart, perPoint, perRepay float64, maxRun int) {
	if len(before) == 0 {
		return -1, -1, -1, -1
	}
	var b, a float64
	for i := range before {
		b += float64(before[i].events)
		a += float64(after[i].events)
		maxRun = max(maxRun, after[i].maxRun, before[i].maxRun)
	}
	b /= float64(len(before))
	a /= float64(len(before))
	perRepay = -1
	if applied > 0 {
		perRepay = (a - b) / float64(applied)
	}
	return b, b, perRepay, maxRun
}

// audit compares the dev sink's deliveries (the worker's log) with the
// notices table: duplicates are deliveries of a key beyond its first;
// lost are notices still pending, keys delivered with no final row, and
// loans with fewer final rows from the burst than the +7 rung's three.
func audit(ctx context.Context, db *pgxpool.Pool, workerLog string, loans []policy.Loan) (deliveries, duplicates, lost int, err error) {
	fh, err := os.Open(workerLog)
	if err != nil {
		return 0, 0, 0, err
	}
	defer fh.Close()
	perKey := map[string]int{}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct{ Component, Key, Msg string }
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Component != "devsink" || line.Key == "" || strings.HasSuffix(line.Msg, "already delivered") {
			continue
		}
		perKey[line.Key]++
		deliveries++
	}
	for _, n := range perKey {
		duplicates += n - 1
	}
	final := map[string]bool{}
	rows, err := db.Query(ctx, `select idempotency_key from notices where status <> 'pending'`)
	if err != nil {
		return 0, 0, 0, err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return 0, 0, 0, err
		}
		final[k] = true
	}
	if err := rows.Err(); err != nil {
		return 0, 0, 0, err
	}
	for k := range perKey {
		if !final[k] {
			lost++
		}
	}
	var pending int
	_ = db.QueryRow(ctx, `select count(*) from notices where status = 'pending'`).Scan(&pending)
	lost += pending
	for _, l := range loans {
		for _, ch := range []string{"sms", "email", "push"} {
			if !final[l.LoanID+"/0/1/7/"+ch] {
				lost++
			}
		}
	}
	return deliveries, duplicates, lost, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func printTable(w io.Writer, cfg Config, f Figures) {
	fmt.Fprintf(w, "\nmake load: N=%d, %d clients, %d CPUs, load average %s at start, %s at end\n", cfg.N, cfg.Clients, runtime.NumCPU(), f.LoadAvgStart, f.LoadAvgEnd)
	server := "the driver's dev server (SQLite, 1 history shard)"
	if cfg.TemporalAddr != "" {
		server = "a server started outside the driver (-temporal)"
	}
	fmt.Fprintf(w, "Temporal: %s on %s\n\n", server, cfg.temporalAddress())
	fmt.Fprintf(w, "%-40s %14s %14s %8s\n", "figure", "dunning", "bare Temporal", "ratio")
	row := func(name, a, b string, r float64) {
		rs := ""
		if r >= 0 {
			rs = fmt.Sprintf("%.2f", r)
		}
		fmt.Fprintf(w, "%-40s %14s %14s %8s\n", name, a, b, rs)
	}
	row("onboarding (loans/s vs starts/s)", fmt.Sprintf("%.1f", f.Onboard), fmt.Sprintf("%.1f", f.OnboardBare), Ratio(f.Onboard, f.OnboardBare))
	row("  onboarding p50 / p99", f.OnboardP50.Round(time.Millisecond).String(), f.OnboardP99.Round(time.Millisecond).String(), -1)
	row("burst (loans notified/s vs wf/s)", fmt.Sprintf("%.2f", f.Burst), fmt.Sprintf("%.2f", f.BurstBare), Ratio(f.Burst, f.BurstBare))
	row("  burst seconds", fmt.Sprintf("%.1f", f.BurstSecs), fmt.Sprintf("%.1f", f.BurstBareSecs), -1)
	row("  burst notices/s", fmt.Sprintf("%.1f", Ratio(float64(f.BurstNotices), f.BurstSecs)), "", -1)
	row("repayments (req/s vs updates/s)", fmt.Sprintf("%.1f", f.Repay), fmt.Sprintf("%.1f", f.RepayBare), Ratio(f.Repay, f.RepayBare))
	row("  repayment p50", f.RepayP50.Round(time.Millisecond).String(), f.RepayBareP50.Round(time.Millisecond).String(), -1)
	row("  repayment p99", f.RepayP99.Round(time.Millisecond).String(), f.RepayBareP99.Round(time.Millisecond).String(), -1)
	row("  repayment answers", fmt.Sprint(f.RepayCodes), "", -1)
	row("history: events, start + one point", fmt.Sprintf("%.0f", f.EventsAtStart), "", -1)
	row("history: events per repayment", fmt.Sprintf("%.1f", f.EventsPerRepay), "", -1)
	row("history: per installment (12 paid on time)", fmt.Sprintf("%.1f", f.EventsPerInstallment), "", -1)
	row("history: to charge-off (12 never paid)", fmt.Sprint(f.ChargeOffEvents), "", -1)
	row("history: largest run (lifecycles, 360 incl.)", fmt.Sprint(f.MaxRunEvents), "", -1)
	row("history: largest run seen in this load", fmt.Sprint(f.MaxRunSeen), "", -1)
	row("worker RSS MiB idle / loaded", fmt.Sprintf("%.0f", f.IdleRSS), fmt.Sprintf("%.0f", f.LoadedRSS), -1)
	row("worker RSS MiB per 10k loans (extrap.)", fmt.Sprintf("%.0f", f.RSSPer10k), "", -1)
	row("PostgreSQL bytes per notice", fmt.Sprintf("%.0f", f.PGBytesPerNotice), fmt.Sprint(f.NoticeRows, " rows"), -1)
	row("dev sink deliveries", fmt.Sprint(f.Deliveries), "", -1)
	row("5xx / duplicates / lost", fmt.Sprintf("%d/%d/%d", f.Status5xx, f.Duplicates, f.Lost), "", -1)
	fmt.Fprintln(w)
}
