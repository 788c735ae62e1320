package sim

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	plusRE  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$`)
	milliRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

func parseTime(t *testing.T, layout, v string) time.Time {
	t.Helper()
	tm, err := time.Parse(layout, v)
	if err != nil {
		t.Fatalf("time %q: %v", v, err)
	}
	return tm
}

func decodeStrict(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

func TestPolicyData(t *testing.T) {
	cidRange := map[string][2]int{"AWS": {1000, 9999}, "AZURE": {50000, 50999}, "GCP": {52000, 52999}, "OCI": {54000, 54999}}
	for _, n := range []int{1, 4, 60, 3000} {
		recs := New(Options{Policies: n, Exceptions: -1, Now: (&fakeClock{t: testNow}).Now}).PolicyRecords()
		if len(recs) != n {
			t.Fatalf("%d policies, want %d", len(recs), n)
		}
		uuids, titles := map[string]bool{}, map[string]bool{}
		clouds, types, execs := map[string]int{}, map[string]int{}, map[string]int{}
		for i, raw := range recs {
			var p qualysPolicy
			decodeStrict(t, raw, &p)
			bad := func(format string, args ...any) {
				t.Helper()
				t.Errorf("n=%d policy %d: "+format+"\n%s", append(append([]any{n, i}, args...), raw)...)
			}
			if !uuidRE.MatchString(p.UUID) || uuids[p.UUID] {
				bad("uuid %q invalid or repeated", p.UUID)
			}
			uuids[p.UUID] = true
			if p.Title == "" || titles[p.Title] {
				bad("title %q empty or repeated", p.Title)
			}
			titles[p.Title] = true
			r, ok := cidRange[p.CloudType]
			if !ok {
				bad("cloudType %q", p.CloudType)
			}
			clouds[p.CloudType]++
			if p.Version != "1.0" && p.Version != "1.1" && p.Version != "2.0" {
				bad("version %q", p.Version)
			}
			if !plusRE.MatchString(p.CreatedDate) || !plusRE.MatchString(p.ModifiedDate) ||
				parseTime(t, qualysTimeLayout, p.ModifiedDate).Before(parseTime(t, qualysTimeLayout, p.CreatedDate)) {
				bad("dates %q %q", p.CreatedDate, p.ModifiedDate)
			}
			if p.Header == "" || p.Footer != "" || p.Steps == nil || len(p.Steps) != 0 || p.TagIDs == nil || len(p.TagIDs) != 0 {
				bad("header/steps/footer/tagIds")
			}
			if !bytes.Contains(raw, []byte(`"steps":[],"footer":""`)) || !bytes.HasSuffix(raw, []byte(`"tagIds":[]}`)) {
				bad("steps/tagIds not empty arrays")
			}
			switch p.Type {
			case "SYSTEM_DEFINED_POLICY":
				if p.CreatedBy != "SYSTEM" || (p.Scope == "GLOBAL") == p.CustomerCreated || (p.ModifiedBy == "SYSTEM") != (p.Scope == "GLOBAL") {
					bad("system policy fields")
				}
			case "CUSTOM_POLICY":
				if p.CreatedBy == "SYSTEM" || !p.CustomerCreated || p.Scope != "CUSTOMER" {
					bad("custom policy fields")
				}
			default:
				bad("type %q", p.Type)
			}
			types[p.Type]++
			if p.ExecutionType != "RUN_TIME" && p.ExecutionType != "BUILD_TIME" {
				bad("executionType %q", p.ExecutionType)
			}
			execs[p.ExecutionType]++
			if len(p.ControlIDs) < 5 || len(p.ControlIDs) > 40 {
				bad("%d controlIds", len(p.ControlIDs))
			}
			cids := map[int]bool{}
			for _, c := range p.ControlIDs {
				if c < r[0] || c > r[1] || cids[c] {
					bad("controlId %d out of range or repeated", c)
				}
				cids[c] = true
			}
		}
		if n >= 4 && len(clouds) != 4 {
			t.Errorf("n=%d: clouds %v", n, clouds)
		}
		if n >= 60 && (len(types) != 2 || len(execs) != 2) {
			t.Errorf("n=%d: types %v executionTypes %v", n, types, execs)
		}
	}
}

func TestExceptionData(t *testing.T) {
	// Generation happens at testNow; states must hold for the whole UTC day.
	dayStart := testNow.Truncate(24 * time.Hour)
	dayEnd := dayStart.Add(24*time.Hour - time.Nanosecond)
	for _, n := range []int{5, 1500, 20000} {
		recs := New(Options{Exceptions: n, Policies: -1, Now: (&fakeClock{t: testNow}).Now}).ExceptionRecords()
		if len(recs) != n {
			t.Fatalf("%d exceptions, want %d", len(recs), n)
		}
		uuids, names := map[string]bool{}, map[string]bool{}
		states, scopes, reasons, cloudNames := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
		var soon, far, past int
		for i, raw := range recs {
			var e qualysException
			decodeStrict(t, raw, &e)
			bad := func(format string, args ...any) {
				t.Helper()
				t.Errorf("n=%d exception %d: "+format+"\n%s", append(append([]any{n, i}, args...), raw)...)
			}
			if !uuidRE.MatchString(e.UUID) || uuids[e.UUID] {
				bad("uuid %q invalid or repeated", e.UUID)
			}
			uuids[e.UUID] = true
			if e.Name == "" || names[e.Name] {
				bad("name %q empty or repeated", e.Name)
			}
			names[e.Name] = true
			for _, c := range []string{"AWS", "Azure", "GCP", "OCI"} {
				if strings.HasPrefix(e.Name, c+" ") && strings.Contains(e.Description, c) {
					cloudNames[c]++
				}
			}
			if e.Description == "" || e.CreatedBy == "" || e.UpdatedBy == "" {
				bad("empty field")
			}
			reasons[e.Reason]++
			states[e.State]++
			scopes[e.Scope]++
			if !milliRE.MatchString(e.StartingDate) || !milliRE.MatchString(e.EndingDate) {
				bad("window format")
			}
			start := parseTime(t, qualysMilliLayout, e.StartingDate)
			end := parseTime(t, qualysMilliLayout, e.EndingDate)
			if !start.Before(end) {
				bad("start %s not before end %s", start, end)
			}
			for _, now := range []time.Time{dayStart, testNow, dayEnd} {
				ended := !end.After(now)
				if ended != (e.State == "EXPIRED") {
					bad("state %s but ended=%v at %s", e.State, ended, now)
				}
				if e.State == "PENDING" && !start.After(now) {
					bad("pending but started at %s", now)
				}
				if e.State == "ACTIVE" && start.After(now) {
					bad("active but not started at %s", now)
				}
			}
			switch left := end.Sub(testNow); {
			case left < 0:
				past++
			case left <= 7*24*time.Hour:
				soon++
			case left > 365*24*time.Hour:
				far++
			}
			if !plusRE.MatchString(e.CreatedOn) || !plusRE.MatchString(e.UpdatedOn) {
				bad("createdOn/updatedOn format")
			}
			created := parseTime(t, qualysTimeLayout, e.CreatedOn)
			updated := parseTime(t, qualysTimeLayout, e.UpdatedOn)
			if updated.Before(created) || updated.After(dayStart) {
				bad("created %s updated %s", created, updated)
			}
			if e.UpdatedBy != e.CreatedBy && !updated.After(created) {
				bad("updated by someone else without an update")
			}
		}
		wantAll := func(what string, got map[string]int, want []string) {
			t.Helper()
			for _, w := range want {
				if got[w] == 0 {
					t.Errorf("n=%d: no %s %q (%v)", n, what, w, got)
				}
			}
			if len(got) != len(want) {
				t.Errorf("n=%d: %s values %v, want only %v", n, what, got, want)
			}
		}
		wantAll("state", states, exceptionStates)
		wantAll("scope", scopes, exceptionScopes)
		if n >= 1500 {
			wantAll("reason", reasons, exceptionReasons)
			wantAll("cloud", cloudNames, []string{"AWS", "Azure", "GCP", "OCI"})
			if soon == 0 || far == 0 || past == 0 {
				t.Errorf("n=%d: %d ended, %d ending within 7 days, %d ending after a year", n, past, soon, far)
			}
		}
	}
}

func TestSampleLikeNames(t *testing.T) {
	recs := New(Options{Now: (&fakeClock{t: testNow}).Now}).ExceptionRecords()
	found := false
	for _, r := range recs {
		found = found || bytes.Contains(r, []byte(`"name":"OCI Resource Level Exception"`))
	}
	if !found {
		t.Error(`no exception named like the sample ("OCI Resource Level Exception")`)
	}
}
