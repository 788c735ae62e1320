//go:build linux

package ui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// browseChildEnv names the store a TestBrowseChild process browses;
// browseChildFilterEnv the connector whose users it filters.
const (
	browseChildEnv       = "QTC_BROWSE_CHILD_STORE"
	browseChildFilterEnv = "QTC_BROWSE_CHILD_FILTER"
)

// childReport is what TestBrowseChild prints for its parent.
type childReport struct {
	Phases  map[string]float64 // milliseconds per phase
	GoSysMB float64            // memory the Go runtime obtained from the OS
	PeakMB  float64            // VmHWM: the peak resident set, MB
	RssAnon float64            // at the end, MB (from /proc/self/status)
	RssFile float64
	Rows    int
}

const childReportPrefix = "qtc-browse-child: "

// TestBrowseChild is the process peakRSS measures: it opens the browsing
// store on the big type, scrolls to the end and back, changes the sort,
// then filters the big type or (QTC_BROWSE_CHILD_FILTER=seed) switches to
// the seed connector's 111,207 users and filters them, letter by letter,
// changes the filtered list's sort and clears the filter. Without
// QTC_BROWSE_CHILD_STORE (any ordinary test run) there is nothing to browse
// and it skips.
func TestBrowseChild(t *testing.T) {
	path := os.Getenv(browseChildEnv)
	if path == "" {
		t.Skip("runs as the child process of BenchmarkBrowse/peak-rss")
	}
	rep := childReport{Phases: map[string]float64{}}
	phase := func(name string, start time.Time) { rep.Phases[name] = ms(time.Since(start)) }

	start := time.Now()
	br := openBrowser(t, path, browseBig)
	defer br.close()
	br.app.View()
	phase("open", start)
	rs := br.records()
	rep.Rows = rs.total

	start = time.Now()
	for range 50 {
		br.step(tea.KeyPressMsg{Code: tea.KeyDown})
		br.step(tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	br.step(tea.KeyPressMsg{Code: tea.KeyEnd})
	for range 50 {
		br.step(tea.KeyPressMsg{Code: tea.KeyPgUp})
	}
	br.step(tea.KeyPressMsg{Code: tea.KeyHome})
	phase("scroll", start)
	if c := rs.list.Cursor(); c != 0 {
		t.Fatalf("cursor at %d after home", c)
	}

	start = time.Now()
	br.step(keyPress("2")) // by user principal name
	br.step(keyPress("7")) // by creation time
	br.step(tea.KeyPressMsg{Code: tea.KeyEnd})
	phase("sort", start)
	if _, ok := rs.list.Selected(); !ok {
		t.Fatal("the last row is not loaded")
	}

	start = time.Now()
	if os.Getenv(browseChildFilterEnv) == browseSeed {
		br.send(selectConnectorMsg{name: browseSeed})
		rs = br.records()
	}
	total := rs.total
	br.send(keyPress("/"))
	for _, r := range "garcia" {
		br.step(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	br.step(keyPress("enter"))
	if rs.matched <= 0 || rs.matched >= total {
		t.Fatalf("filter matched %d of %d", rs.matched, total)
	}
	br.step(keyPress("2")) // the filtered list by user principal name
	br.step(keyPress("esc"))
	phase("filter", start)
	if rs.matched != -1 || rs.list.Len() != total {
		t.Fatalf("after esc: %d matched, list of %d", rs.matched, rs.list.Len())
	}

	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rep.GoSysMB = float64(m.Sys) / (1 << 20)
	rep.PeakMB = procStatusMB("VmHWM")
	rep.RssAnon, rep.RssFile = procStatusMB("RssAnon"), procStatusMB("RssFile")
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(append([]byte(childReportPrefix), append(out, '\n')...))
}

// procStatusMB reads one "kB" field of /proc/self/status, in MB.
func procStatusMB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// peakRSS runs TestBrowseChild in a new process of this test binary on
// path and reports its peak resident set: the VmHWM the child reads at its
// end (anonymous memory and the pages of the store's memory map mapped at
// the time). Not the child's ru_maxrss: Linux carries the parent's peak
// over into it across exec (os/exec starts the child sharing the parent's
// memory), and the parent here has mapped the whole store.
func peakRSS(b *testing.B, path, filterConn string) {
	var peak, goSys, anon, file float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBrowseChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), browseChildEnv+"="+path, browseChildFilterEnv+"="+filterConn)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("browse child: %v\n%s", err, out.String())
		}
		var rep childReport
		for line := range strings.Lines(out.String()) {
			if v, ok := strings.CutPrefix(line, childReportPrefix); ok {
				if err := json.Unmarshal([]byte(v), &rep); err != nil {
					b.Fatal(err)
				}
			}
		}
		if rep.Rows == 0 {
			b.Fatalf("browse child did not report:\n%s", out.String())
		}
		peak = max(peak, rep.PeakMB)
		goSys, anon, file = max(goSys, rep.GoSysMB), max(anon, rep.RssAnon), max(file, rep.RssFile)
		b.Logf("child phases (ms): %v", rep.Phases)
	}
	b.ReportMetric(peak, "peak-RSS-MB")
	b.ReportMetric(goSys, "go-sys-MB")
	b.ReportMetric(anon, "end-anon-MB")
	b.ReportMetric(file, "end-file-MB")
}
