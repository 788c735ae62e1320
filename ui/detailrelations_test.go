package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
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
	dueCheckEvery = 0
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
	isGroup := map[string]bool{}
	for _, g := range truth.Groups {
		isGroup[g.ID] = true
	}
	assignments := map[string]int{}
	for _, a := range truth.AppRoleAssignments {
		assignments[a.PrincipalID]++
	}
	// A user in exactly one group (and maybe administrative units or
	// roles); its memberships are listed by id, the group at row.
	var user graphsim.Object
	var group string
	var row, related int
	for _, u := range truth.Users {
		gs := slices.Sorted(slices.Values(memberOf[u.ID]))
		var in []string
		for _, g := range gs {
			if isGroup[g] {
				in = append(in, g)
			}
		}
		if len(in) == 1 && len(truth.Members[in[0]]) > 1 {
			user, group = u, in[0]
			row, related = slices.Index(gs, group), len(gs)+assignments[u.ID]
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
	h.contains("Member of", names[group], "group", fmt.Sprintf("%d related", related))

	for range row {
		h.keys("down")
	}
	h.keys("enter") // the group
	h.contains(names[group], "Fields")
	h.keys("tab", "tab") // the group's Relations: its members
	h.contains("Members", user.DisplayName)

	h.keys("esc") // back to the user
	h.contains(user.DisplayName, "Member of")
	h.keys("tab") // Qualys asset
	h.contains(`"assetRelations"`, `"vendorAssetId": "`+user.ID)
}
