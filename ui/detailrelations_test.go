package ui

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"

	tea "charm.land/bubbletea/v2"

	graphsim "qtc/api/sim/graph"
	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// newEntraHarness is the app on a synced Entra ID connector "e" (posture
// scope) served by the Graph simulator.
func newEntraHarness(t *testing.T, w, h int) (*harness, *graphsim.Server) {
	t.Helper()
	filterDebounce = 0
	dir := t.TempDir()
	s := graphsim.New(graphsim.Options{Users: 120, Groups: 10})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := vault.Open(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &qsync.Engine{Store: st, Vault: v}
	d := graphsim.Defaults(graphsim.Options{})
	ctx := context.Background()
	if _, err := eng.SaveEntra(ctx, qsync.EntraConnector{Kind: qsync.KindEntra, Name: "e", TenantID: d.TenantID, ClientID: d.ClientID,
		ClientSecret: d.ClientSecret, LoginURL: srv.URL + graphsim.LoginPath, GraphURL: srv.URL + graphsim.GraphPath, Scope: "posture"}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	hn := &harness{t: t, app: newApp(ctx, Config{Engine: eng}), eng: eng}
	hn.send(tea.WindowSizeMsg{Width: w, Height: h})
	hn.run(hn.app.Init())
	return hn, s
}

func TestRelationsWalkUserToGroupToMembersAndBack(t *testing.T) {
	h, sim := newEntraHarness(t, 140, 40)
	truth := sim.Truth()
	memberOf := truth.MemberOf()
	names := map[string]string{}
	for _, o := range append(append(truth.Groups, truth.DirectoryRoles...), truth.Users...) {
		names[o.ID] = o.DisplayName
	}
	// A user in exactly one group, so the first relation row is that group.
	var user graphsim.Object
	var group string
	for _, u := range truth.Users {
		if gs := memberOf[u.ID]; len(gs) == 1 && len(truth.Members[gs[0]]) > 1 {
			user, group = u, gs[0]
			break
		}
	}
	if user.ID == "" {
		t.Fatal("no user in exactly one group")
	}
	var upn struct{ UserPrincipalName string }
	if err := json.Unmarshal(user.JSON, &upn); err != nil {
		t.Fatal(err)
	}
	h.open("users")
	h.keys("/")
	h.typeText(`"` + upn.UserPrincipalName + `"`)
	h.keys("enter")
	h.contains("1 of 120 records")
	h.keys("enter") // the user's detail
	h.contains("Fields", "JSON", "Relations", "Qualys asset")
	h.keys("tab", "tab") // Relations
	h.contains("Member of", names[group], "group", "1 related")

	h.keys("enter") // the group
	h.contains(names[group], "Fields")
	h.keys("tab", "tab") // the group's Relations: its members
	h.contains("Members", user.DisplayName)

	h.keys("esc") // back to the user
	h.contains(user.DisplayName, "Member of")
	h.keys("tab") // Qualys asset
	h.contains(`"assetRelations"`, `"vendorAssetId": "`+user.ID)
}
