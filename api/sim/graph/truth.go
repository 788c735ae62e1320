package graphsim

import (
	"encoding/json"
	"fmt"
)

// Object is one directory object of the Truth.
type Object struct {
	ID          string
	Type        string // "#microsoft.graph.user", …
	DisplayName string
	// JSON is the object with every property, as served with $select=*
	// (shared with the server: do not modify).
	JSON json.RawMessage
}

// AppRoleAssignment is one app role granted to a principal.
type AppRoleAssignment struct {
	ID                   string
	AppRoleID            string
	PrincipalID          string
	PrincipalType        string // User, Group, ServicePrincipal
	PrincipalDisplayName string
	ResourceID           string // the service principal
	ResourceDisplayName  string
}

// Truth is the tenant as a correct sync must see it: live objects in
// listing order, direct memberships and app role assignments.
type Truth struct {
	TenantID          string
	Organization      Object
	Users             []Object
	Groups            []Object
	Devices           []Object
	Applications      []Object
	ServicePrincipals []Object
	DirectoryRoles    []Object
	RoleDefinitions   []Object
	// AdministrativeUnits are the tenant's administrative units
	// (#microsoft.graph.administrativeUnit).
	AdministrativeUnits []Object
	// Members maps each group, directory role and administrative unit id to
	// its direct members' ids (users, groups, devices, service principals),
	// in listing order.
	Members map[string][]string
	// AppRoleAssignments holds every assignment (each is both an entry of
	// its principal's appRoleAssignments and of its resource's
	// appRoleAssignedTo).
	AppRoleAssignments []AppRoleAssignment
	// SoftDeleted are the ids of users and groups in deleted items.
	SoftDeleted []string
}

// Truth returns the current tenant.
func (s *Server) Truth() Truth {
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	t := Truth{TenantID: d.tenantID, Members: map[string][]string{}}
	conv := func(list []*obj) []Object {
		out := make([]Object, len(list))
		for i, o := range list {
			out[i] = Object{ID: o.id, Type: o.schema().odataType, DisplayName: o.name, JSON: o.raw}
		}
		return out
	}
	if orgs := d.lists[kOrg]; len(orgs) > 0 {
		t.Organization = conv(orgs[:1])[0]
	}
	t.Users = conv(d.lists[kUser])
	t.Groups = conv(d.lists[kGroup])
	t.Devices = conv(d.lists[kDevice])
	t.Applications = conv(d.lists[kApp])
	t.ServicePrincipals = conv(d.lists[kSP])
	t.DirectoryRoles = conv(d.lists[kRole])
	t.RoleDefinitions = conv(d.lists[kRoleDef])
	t.AdministrativeUnits = conv(d.lists[kAU])
	for _, k := range []kind{kGroup, kRole, kAU} {
		for _, g := range d.lists[k] {
			ids := make([]string, len(g.members))
			for i, m := range g.members {
				ids[i] = m.id
			}
			t.Members[g.id] = ids
		}
	}
	for _, sp := range d.lists[kSP] {
		for _, a := range sp.asgTo {
			t.AppRoleAssignments = append(t.AppRoleAssignments, AppRoleAssignment{
				ID: a.id, AppRoleID: a.appRoleID, PrincipalID: a.principal.id, PrincipalType: principalType(a.principal),
				PrincipalDisplayName: a.principal.name, ResourceID: sp.id, ResourceDisplayName: sp.name,
			})
		}
	}
	for _, o := range d.byID {
		if o.state == softDeleted {
			t.SoftDeleted = append(t.SoftDeleted, o.id)
		}
	}
	return t
}

// MemberOf inverts Members: object id → ids of the groups, directory roles
// and administrative units it is a direct member of (what its memberOf
// lists).
func (t Truth) MemberOf() map[string][]string {
	out := map[string][]string{}
	for g, ms := range t.Members {
		for _, m := range ms {
			out[m] = append(out[m], g)
		}
	}
	return out
}

// PlanStep is one kind of request of a sync plan.
type PlanStep struct {
	Request string // e.g. "GET /v1.0/users?$select=…&$top=999"
	Calls   int
	RU      int
}

// Plan is what a full sync costs.
type Plan struct {
	Steps []PlanStep
	Calls int
	RU    int
}

// CheapestPlan returns the cost of the cheapest correct full sync of t with
// Microsoft's cost table: list calls with $select and $top=999 (users,
// devices, applications, service principals, role definitions), groups
// and their memberships through one groups/delta query with
// $select=…,members (200 groups and 500 member links a page), directory
// roles and their members, administrative units and their members, the
// organization, and one appRoleAssignedTo listing per service principal
// (users' and groups' appRoleAssignments and memberOf are their inverses:
// no per-user calls). Pages the server shortens add a few calls: this is a
// lower bound.
func CheapestPlan(t Truth) Plan {
	var p Plan
	pages := func(n, size int) int { return max(1, (n+size-1)/size) }
	add := func(req string, calls, ruEach int) {
		p.Steps = append(p.Steps, PlanStep{Request: req, Calls: calls, RU: calls * ruEach})
		p.Calls += calls
		p.RU += calls * ruEach
	}
	add("GET /v1.0/users?$select=…&$top=999", pages(len(t.Users), maxPageSize), Cost("GET", "/v1.0/users?$select=id&$top=999"))
	add("GET /v1.0/groups/delta?$select=…,members", groupDeltaPages(t), Cost("GET", "/v1.0/groups/delta?$select=id,members"))
	add("GET /v1.0/devices?$select=…&$top=999", pages(len(t.Devices), maxPageSize), Cost("GET", "/v1.0/devices?$select=id&$top=999"))
	add("GET /v1.0/applications?$select=…&$top=999", pages(len(t.Applications), maxPageSize), Cost("GET", "/v1.0/applications?$select=id&$top=999"))
	add("GET /v1.0/servicePrincipals?$select=…&$top=999", pages(len(t.ServicePrincipals), maxPageSize), Cost("GET", "/v1.0/servicePrincipals?$select=id&$top=999"))
	assigned := map[string]int{}
	for _, a := range t.AppRoleAssignments {
		assigned[a.ResourceID]++
	}
	spCalls := 0
	for _, sp := range t.ServicePrincipals {
		spCalls += pages(assigned[sp.ID], maxPageSize)
	}
	add("GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo?$select=…&$top=999", spCalls, Cost("GET", "/v1.0/servicePrincipals/x/appRoleAssignedTo?$select=id&$top=999"))
	add("GET /v1.0/roleManagement/directory/roleDefinitions?$select=…&$top=999", pages(len(t.RoleDefinitions), maxPageSize), Cost("GET", "/v1.0/roleManagement/directory/roleDefinitions?$select=id&$top=999"))
	add("GET /v1.0/directoryRoles?$select=…", 1, Cost("GET", "/v1.0/directoryRoles?$select=id"))
	roleCalls := 0
	for _, r := range t.DirectoryRoles {
		roleCalls += pages(len(t.Members[r.ID]), maxPageSize)
	}
	add("GET /v1.0/directoryRoles/{id}/members?$select=…&$top=999", roleCalls, Cost("GET", "/v1.0/directoryRoles/x/members?$select=id&$top=999"))
	add("GET /v1.0/directory/administrativeUnits?$select=…&$top=999", pages(len(t.AdministrativeUnits), maxPageSize), Cost("GET", "/v1.0/directory/administrativeUnits?$select=id&$top=999"))
	unitCalls := 0
	for _, u := range t.AdministrativeUnits {
		unitCalls += pages(len(t.Members[u.ID]), maxPageSize)
	}
	add("GET /v1.0/directory/administrativeUnits/{id}/members?$select=…&$top=999", unitCalls, Cost("GET", "/v1.0/directory/administrativeUnits/x/members?$select=id&$top=999"))
	add("GET /v1.0/organization", 1, Cost("GET", "/v1.0/organization"))
	return p
}

// CheapestPlanRU is CheapestPlan(t).RU.
func CheapestPlanRU(t Truth) int { return CheapestPlan(t).RU }

// groupDeltaPages packs the groups and their member links into delta pages
// as the server does (at most 200 objects and 500 links a page).
func groupDeltaPages(t Truth) int {
	pages, objs, links := 1, 0, 0
	for _, g := range t.Groups {
		rest := len(t.Members[g.ID])
		for {
			if objs == deltaMaxObjects || (rest > 0 && links == deltaMaxLinks) {
				pages++
				objs, links = 0, 0
			}
			take := min(rest, deltaMaxLinks-links)
			objs++
			links += take
			rest -= take
			if rest == 0 {
				break
			}
		}
	}
	return pages
}

// String renders a plan as a table.
func (p Plan) String() string {
	var b []byte
	for _, s := range p.Steps {
		b = fmt.Appendf(b, "%-75s %7d calls %8d RU\n", s.Request, s.Calls, s.RU)
	}
	b = fmt.Appendf(b, "%-75s %7d calls %8d RU\n", "total", p.Calls, p.RU)
	return string(b)
}
