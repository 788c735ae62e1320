package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestCrashSafetyEntra is TestCrashSafety for an Entra ID connector with
// every relation (security posture scope): a real `qtc sync` killed with
// SIGKILL at random points of full pulls (staged, merged at their end),
// delta rounds and baselines, the tenant changing between rounds (users and
// groups added and changed, memberships added and removed). After each kill
// the store opens and passes Check (indexes, link pairs); at the end every
// entity and relation equals an uninterrupted sync's, with no duplicates.
func TestCrashSafetyEntra(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real sync processes; skipped with -short")
	}
	const crashKills = 16
	rng := crashRNG(t)

	s := newSandbox(t)
	s.startSim("--graph-groups", "120")
	g := s.graph
	const name = "tenant"
	addEntra := func(sb *sandbox) {
		t.Helper()
		if _, stderr, code := sb.run(sb.env("QTC_CLIENT_SECRET="+g["secret"]), "connector", "add", "entra", name, "--tenant-id", g["tenant"],
			"--client-id", g["client"], "--login-url", g["login URL"], "--graph-url", g["graph URL"], "--scope", "posture"); code != 0 {
			t.Fatalf("connector add entra: exit %d: %s", code, stderr)
		}
	}
	addEntra(s)
	u, err := url.Parse(g["graph URL"])
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(body string) {
		t.Helper()
		resp, err := http.Post(u.Scheme+"://"+u.Host+"/_sim/mutate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("mutate %s: %s", body, resp.Status)
		}
	}

	s.crashRun(t, rng, name, crashKills, 300*time.Millisecond, func() {
		if rng.Intn(3) > 0 {
			mutate(fmt.Sprintf(`{"addUsers":%d,"updateUsers":%d,"addGroups":%d,"updateGroups":%d,"addMembers":%d,"removeMembers":%d}`,
				rng.Intn(30), rng.Intn(30), rng.Intn(3), rng.Intn(5), rng.Intn(80), rng.Intn(40)))
		}
	})

	ref := newSandbox(t)
	addEntra(ref)
	ref.resumeSync(t, name, false)
	for _, typ := range []string{"users", "groups", "roles", "directoryRoles", "administrativeUnits", "appRoleAssignments", "applications", "servicePrincipals", "credentials"} {
		got, want := s.exportLines(t, name, typ), ref.exportLines(t, name, typ)
		if len(want) == 0 {
			t.Errorf("%s: the reference sync exported nothing", typ)
		}
		if !equalLines(got, want) {
			t.Errorf("%s: the crashed store (%d records) differs from an uninterrupted sync (%d records)", typ, len(got), len(want))
		}
	}
}
