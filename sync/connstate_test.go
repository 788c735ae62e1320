package sync_test

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"testing"
	"time"

	graphsim "qtc/api/sim/graph"
	"qtc/store"
	qsync "qtc/sync"
)

func TestConnectorState(t *testing.T) {
	run := func(state string) *store.Run { return &store.Run{State: state} }
	tests := []struct {
		name      string
		running   bool
		last      *store.Run
		scheduled bool
		want      string
	}{
		{"new, no schedule", false, nil, false, qsync.StateRegistered},
		{"new, scheduled", false, nil, true, qsync.StateScheduled},
		{"first run going", true, nil, true, qsync.StateProcessing},
		{"first run going, not scheduled", true, nil, false, qsync.StateProcessing},
		{"a later run going", true, run(qsync.StateErrored), true, qsync.StateProcessing},
		{"processed, scheduled again", false, run(qsync.StateProcessed), true, qsync.StateProcessed},
		{"processed, no schedule", false, run(qsync.StateProcessed), false, qsync.StateProcessed},
		{"partially processed", false, run(qsync.StatePartiallyProcessed), true, qsync.StatePartiallyProcessed},
		{"errored", false, run(qsync.StateErrored), true, qsync.StateErrored},
		{"errored, not scheduled", false, run(qsync.StateErrored), false, qsync.StateErrored},
		{"run left unfinished (process died)", false, run(qsync.StateProcessing), true, qsync.StateErrored},
		{"run with an unknown state", false, run(""), false, qsync.StateErrored},
	}
	for _, tt := range tests {
		if got := qsync.ConnectorState(tt.running, tt.last, tt.scheduled); got != tt.want {
			t.Errorf("%s: ConnectorState = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNextRunAndDue(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	conn := func(updated time.Duration, manual bool, s qsync.Schedule) store.Connector {
		set := s.Settings()
		if manual {
			set[qsync.SettingManual] = "true"
		}
		return store.Connector{Name: "c", Kind: qsync.KindEntra, Settings: set, UpdatedAt: now.Add(updated)}
	}
	hourly := mustSchedule(t, "recurring", "2026-01-01 00:00", "", "1h", "")
	daily := mustSchedule(t, "daily", "2026-01-01 02:30", "", "", "America/New_York") // 06:30Z in May
	once := mustSchedule(t, "once", "2026-05-04 13:00", "", "", "")
	started := func(d time.Duration) *store.Run { return &store.Run{Start: now.Add(d), State: qsync.StateProcessed} }
	tests := []struct {
		name     string
		c        store.Connector
		last     *store.Run
		wantNext string // RFC 3339, "" = none
		wantDue  bool
	}{
		{"no schedule", conn(-time.Hour, false, qsync.Schedule{}), nil, "", false},
		{"once ahead", conn(-time.Hour, false, once), nil, "2026-05-04T13:00:00Z", false},
		{"once ahead, run by hand before it", conn(-time.Hour, false, once), started(-time.Minute), "2026-05-04T13:00:00Z", false},
		{"once done", conn(-time.Hour, false, once), started(2 * time.Hour), "", false},
		{"hourly, set 3h ago, never run: due since 3 hours", conn(-3*time.Hour, false, hourly), nil, "2026-05-04T10:00:00Z", true},
		{"hourly, ran 10 minutes ago", conn(-3*time.Hour, false, hourly), started(-10 * time.Minute), "2026-05-04T12:00:00Z", true},
		{"hourly, ran at 12:00", conn(-3*time.Hour, false, hourly), started(0), "2026-05-04T13:00:00Z", false},
		{"a schedule set today owes no runs for the days before", conn(-time.Minute, false, daily), nil, "2026-05-05T06:30:00Z", false},
		{"daily, last run yesterday", conn(-48*time.Hour, false, daily), started(-30 * time.Hour), "2026-05-03T06:30:00Z", true},
		{"manual: never scheduled", conn(-3*time.Hour, true, hourly), nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ok := qsync.NextRun(tt.c, tt.last)
			got := ""
			if ok {
				got = next.UTC().Format(time.RFC3339)
			}
			if got != tt.wantNext {
				t.Errorf("NextRun = %q, want %q", got, tt.wantNext)
			}
			if due := qsync.Due(tt.c, tt.last, now); due != tt.wantDue {
				t.Errorf("Due = %v, want %v", due, tt.wantDue)
			}
		})
	}
}

func TestDueConnectors(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ago := now.Add(-3 * time.Hour)
	hourly := mustSchedule(t, "recurring", now.Add(-24*time.Hour).Format("2006-01-02 15:04"), "", "1h", "")
	tomorrow := mustSchedule(t, "once", now.Add(24*time.Hour).Format("2006-01-02 15:04"), "", "", "")
	put := func(name string, s qsync.Schedule, manual bool) {
		set := s.Settings()
		if manual {
			set[qsync.SettingManual] = "true"
		}
		if err := e.Store.PutConnector(ctx, store.Connector{Name: name, Kind: qsync.KindEntra, Settings: set, CreatedAt: ago, UpdatedAt: ago}); err != nil {
			t.Fatal(err)
		}
	}
	put("a-due", hourly, false)
	put("b-ran", hourly, false)
	put("c-later", tomorrow, false)
	put("d-manual", hourly, true)
	put("e-none", qsync.Schedule{}, false)
	r, err := e.Store.BeginRun(ctx, store.Run{Connector: "b-ran", Start: now, State: qsync.StateProcessed})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.FinishRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	due, manual, err := e.DueConnectors(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	names := func(cs []store.Connector) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	if names(due) != "a-due" || names(manual) != "d-manual" {
		t.Errorf("due %q, manual %q; want a-due, d-manual", names(due), names(manual))
	}
	for name, want := range map[string]string{"a-due": qsync.StateScheduled, "b-ran": qsync.StateProcessed, "c-later": qsync.StateScheduled,
		"d-manual": qsync.StateRegistered, "e-none": qsync.StateRegistered} {
		c, err := e.Store.Connector(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.ConnectorStatus(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != want {
			t.Errorf("%s: state %q, want %q", name, st.State, want)
		}
		if scheduled := name == "a-due" || name == "b-ran" || name == "c-later"; st.NextRun.IsZero() == scheduled {
			t.Errorf("%s: NextRun %v", name, st.NextRun)
		}
	}
}

func TestEntraConnectorNewFieldsValidation(t *testing.T) {
	ok := qsync.EntraConnector{Kind: qsync.KindEntra, Name: "tenant", TenantID: "5f1c3a2e-7b4d-4e8a-9c61-2d0f8b7a6e13",
		ClientID: "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef", ClientSecret: "s"}
	sched := mustSchedule(t, "recurring", "2026-05-04 15:26", "", "12h", "Asia/Calcutta")
	tests := []struct {
		name   string
		mutate func(*qsync.EntraConnector)
		want   string
	}{
		{"identity: 180 characters", func(c *qsync.EntraConnector) { c.Description = strings.Repeat("d", 180) }, ""},
		{"identity: 180 characters, not bytes", func(c *qsync.EntraConnector) { c.Description = strings.Repeat("é", 180) }, ""},
		{"identity: 181 characters", func(c *qsync.EntraConnector) { c.Description = strings.Repeat("d", 181) }, "--description is 181 characters long; at most 180"},
		{"devices: 164 characters", func(c *qsync.EntraConnector) {
			c.Kind, c.Description = qsync.KindEntraDevices, strings.Repeat("d", 164)
		}, ""},
		{"devices: 165 characters", func(c *qsync.EntraConnector) {
			c.Kind, c.Description = qsync.KindEntraDevices, strings.Repeat("d", 165)
		}, "--description is 165 characters long; at most 164"},
		{"description with a newline", func(c *qsync.EntraConnector) { c.Description = "two\nlines" }, "--description must be one line"},
		{"a schedule", func(c *qsync.EntraConnector) { c.Schedule = sched }, ""},
		{"a bad schedule", func(c *qsync.EntraConnector) {
			c.Schedule = qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: sched.Start, Every: time.Minute}
		}, "--every 1m is too short"},
		{"a schedule in an unknown zone", func(c *qsync.EntraConnector) {
			c.Schedule.Kind, c.Schedule.Start, c.Schedule.Timezone = "once", sched.Start, "Nowhere/Land"
		}, "--timezone"},
		{"devices: asset tags", func(c *qsync.EntraConnector) {
			c.Kind, c.AssetTags = qsync.KindEntraDevices, []string{"Cloud Agent", "Windows"}
		}, ""},
		{"identity: asset tags", func(c *qsync.EntraConnector) { c.AssetTags = []string{"a"} }, "--asset-tags applies to entra-devices"},
		{"devices: empty tag", func(c *qsync.EntraConnector) { c.Kind, c.AssetTags = qsync.KindEntraDevices, []string{"a", " "} }, "empty tag"},
		{"devices: duplicate tag", func(c *qsync.EntraConnector) { c.Kind, c.AssetTags = qsync.KindEntraDevices, []string{"a", "a"} }, `tag "a" is listed twice`},
		{"devices: tag with a comma", func(c *qsync.EntraConnector) { c.Kind, c.AssetTags = qsync.KindEntraDevices, []string{"a,b"} }, "contains a comma"},
		{"devices: tag with spaces around", func(c *qsync.EntraConnector) { c.Kind, c.AssetTags = qsync.KindEntraDevices, []string{" a"} }, "leading or trailing spaces"},
	}
	for _, tt := range tests {
		c := ok
		tt.mutate(&c)
		err := c.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestQualysConnectorNewFieldsValidation(t *testing.T) {
	ok := qsync.QualysConnector{Name: "q", Platform: "US1", Username: "u", Password: "p"}
	tests := []struct {
		name   string
		mutate func(*qsync.QualysConnector)
		want   string
	}{
		{"180 characters", func(q *qsync.QualysConnector) { q.Description = strings.Repeat("q", 180) }, ""},
		{"181 characters", func(q *qsync.QualysConnector) { q.Description = strings.Repeat("q", 181) }, "--description is 181 characters long; at most 180"},
		{"a tab", func(q *qsync.QualysConnector) { q.Description = "a\tb" }, "--description must be one line"},
		{"daily", func(q *qsync.QualysConnector) {
			q.Schedule = mustSchedule(t, "daily", "2026-05-05 18:39", "", "", "Asia/Calcutta")
		}, ""},
		{"once with an end", func(q *qsync.QualysConnector) {
			q.Schedule = mustSchedule(t, "once", "2026-05-05 18:39", "", "", "")
			q.Schedule.End = q.Schedule.Start.Add(time.Hour)
		}, "--end does not apply"},
	}
	for _, tt := range tests {
		q := ok
		tt.mutate(&q)
		err := q.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestUpdateKeepsSecretAndOtherSettings(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	c := qsync.EntraConnector{Kind: qsync.KindEntraDevices, Name: "dev", TenantID: "5f1c3a2e-7b4d-4e8a-9c61-2d0f8b7a6e13",
		ClientID: "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef", ClientSecret: "first-secret-value", Description: "devices of Contoso",
		AssetTags: []string{"Cloud Agent", "Windows"}, Manual: true,
		Schedule: mustSchedule(t, "daily", "2026-05-05 18:39", "", "", "Asia/Calcutta")}
	saved, err := e.SaveEntra(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// Read back: the same configuration, without the secret.
	back, err := qsync.EntraConnectorOf(saved)
	if err != nil {
		t.Fatal(err)
	}
	if back.ClientSecret != "" || back.Description != c.Description || strings.Join(back.AssetTags, "|") != "Cloud Agent|Windows" ||
		!back.Manual || back.Schedule.Kind != "daily" || !back.Schedule.Start.Equal(c.Schedule.Start) || !back.Schedule.End.Equal(c.Schedule.End) ||
		back.Schedule.Timezone != "Asia/Calcutta" || back.TenantID != c.TenantID || back.ClientID != c.ClientID {
		t.Fatalf("EntraConnectorOf = %+v", back)
	}
	// A setting this kind does not own (another feature's) survives edits.
	saved.Settings["other"] = "kept"
	if err := e.Store.PutConnector(ctx, saved); err != nil {
		t.Fatal(err)
	}
	sealed := saved.Sealed[qsync.SealedClientSecret]
	back.Description, back.Schedule, back.AssetTags, back.Manual = "", qsync.Schedule{}, nil, false
	up, err := e.UpdateEntra(ctx, back)
	if err != nil {
		t.Fatal(err)
	}
	if up.Sealed[qsync.SealedClientSecret] != sealed {
		t.Error("UpdateEntra without a secret changed the sealed secret")
	}
	if up.Settings["other"] != "kept" {
		t.Errorf("a foreign setting was dropped: %v", up.Settings)
	}
	for _, k := range []string{qsync.SettingDescription, qsync.SettingAssetTags, qsync.SettingManual, qsync.SettingSchedule, qsync.SettingScheduleStart, qsync.SettingScheduleEnd, qsync.SettingScheduleTZ} {
		if v, ok := up.Settings[k]; ok {
			t.Errorf("cleared setting %s still stored: %q", k, v)
		}
	}
	// A new secret is sealed and opens.
	back.ClientSecret = "second-secret-value"
	if up, err = e.UpdateEntra(ctx, back); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Vault.Open(up.Sealed[qsync.SealedClientSecret], qsync.SecretAAD("dev", qsync.SealedClientSecret)); err != nil || string(got) != "second-secret-value" {
		t.Errorf("rotated secret opens as %q, %v", got, err)
	}
	// Update refuses what does not exist, and a change of kind.
	back.Name = "nope"
	if _, err := e.UpdateEntra(ctx, back); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateEntra of a missing connector: %v", err)
	}
	back.Name, back.Kind = "dev", qsync.KindEntra
	if _, err := e.UpdateEntra(ctx, back); err == nil || !strings.Contains(err.Error(), "already exists as a entra-devices") {
		t.Errorf("UpdateEntra changing the kind: %v", err)
	}

	// Qualys: the same.
	q := qsync.QualysConnector{Name: "q", Platform: "UK1", Username: "u", Password: "qualys-password", Description: "UK account",
		Schedule: mustSchedule(t, "once", "2030-01-01 00:00", "", "", "Europe/London")}
	qs, err := e.SaveQualys(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	qb, err := qsync.QualysConnectorOf(qs)
	if err != nil {
		t.Fatal(err)
	}
	if qb.Password != "" || qb.GatewayURL != "https://gateway.qg1.apps.qualys.co.uk" || qb.Description != "UK account" || !qb.Schedule.Start.Equal(q.Schedule.Start) {
		t.Fatalf("QualysConnectorOf = %+v", qb)
	}
	qb.Username = "v"
	qu, err := e.UpdateQualys(ctx, qb)
	if err != nil {
		t.Fatal(err)
	}
	if qu.Sealed[qsync.SealedPassword] != qs.Sealed[qsync.SealedPassword] || qu.Settings[qsync.SettingUsername] != "v" || qu.Settings[qsync.SettingScheduleTZ] != "Europe/London" {
		t.Errorf("UpdateQualys: %+v", qu)
	}
	if _, err := e.UpdateQualys(ctx, qsync.QualysConnector{Name: "dev", Platform: "US1", Username: "u"}); err == nil {
		t.Error("UpdateQualys turned an Entra connector into a Qualys one")
	}
}

func TestDeleteConnectorDeletesEverything(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 30, Groups: 3}, "")
	ctx := context.Background()
	var deleteErr error
	var once gosync.Once // progress comes from every stream at once
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{Progress: func(ev qsync.Event) {
		once.Do(func() { deleteErr = f.eng.DeleteConnector(ctx, "e") })
	}}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(deleteErr, qsync.ErrAlreadyRunning) {
		t.Errorf("delete during a sync: %v, want ErrAlreadyRunning", deleteErr)
	}
	conn, err := f.eng.Store.Connector(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.eng.ConnectorStatus(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	week := qsync.Baselines["weekly"]
	if st.State != qsync.StateProcessed || st.NextBaseline.Before(time.Now().Add(week-time.Minute)) || st.NextBaseline.After(time.Now().Add(week)) || !st.NextRun.IsZero() {
		t.Errorf("status after a sync: %s, next baseline %v, next run %v", st.State, st.NextBaseline, st.NextRun)
	}
	if err := f.eng.DeleteConnector(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Store.Connector(ctx, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("connector after delete: %v", err)
	}
	if types, err := f.eng.Store.Types(ctx, "e"); err != nil || len(types) != 0 {
		t.Errorf("types after delete: %v, %v", types, err)
	}
	if runs, err := f.eng.Store.Runs(ctx, "e", 0); err != nil || len(runs) != 0 {
		t.Errorf("runs after delete: %v, %v", runs, err)
	}
	if ids, err := f.eng.Store.ChangeRuns(ctx, "e"); err != nil || len(ids) != 0 {
		t.Errorf("change sets after delete: %v, %v", ids, err)
	}
	if s, err := f.eng.Store.StreamState(ctx, "e", "users"); err != nil || s.Generation != 0 || s.DeltaLink != "" {
		t.Errorf("stream state after delete: %+v, %v", s, err)
	}
	if err := f.eng.DeleteConnector(ctx, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
