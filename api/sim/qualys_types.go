package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Record types served by the simulator, as used by Records, Mutate and
// Options.Counts. Resource types are the {resourceType} of the inventory
// paths.
const (
	TypePolicies   = "policies"   // GET /cloudview-api/rest/v2/policies
	TypeExceptions = "exceptions" // /cloudview-api/rest/v1/exceptions/...

	TypeEC2Instance = "EC2_INSTANCE" // /cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS (marker paging)

	// Azure CIEM types: /cloudview-api/rest/v1/resource/{type}/Azure.
	TypeEntraIDUser                    = "ENTRA_ID_USER"
	TypeEntraIDGroup                   = "ENTRA_ID_GROUP"
	TypeEntraIDServicePrincipal        = "ENTRA_ID_SERVICE_PRINCIPAL"
	TypeEntraIDApplicationRegistration = "ENTRA_ID_APPLICATION_REGISTRATION"
	TypeRoleAssignment                 = "ROLE_ASSIGNMENT"
	TypeRoleDefinitions                = "ROLE_DEFINITIONS"
	TypeDenyAssignment                 = "DENY_ASSIGNMENT"
	TypeManagedIdentities              = "MANAGED_IDENTITIES"
)

// Values of Options.Scale.
const (
	ScaleSmall = "small" // default: a few dozen to a few hundred records per resource type
	ScaleSeed  = "seed"  // the totals of the TotalCloud 2.25 release notes (111,207 Entra users, ...)
)

// azureTypes are the CIEM types in the order of the release notes.
var azureTypes = []string{
	TypeEntraIDUser, TypeEntraIDGroup, TypeEntraIDServicePrincipal, TypeEntraIDApplicationRegistration,
	TypeRoleAssignment, TypeRoleDefinitions, TypeDenyAssignment, TypeManagedIdentities,
}

// scaleCounts are the default record counts per resource type. The seed
// figures are the totalElements of the release notes' samples; EC2_INSTANCE
// has no published total (its sample says totalHits 43 for one account).
var scaleCounts = map[string]map[string]int{
	ScaleSmall: {
		TypeEC2Instance:                    120,
		TypeEntraIDUser:                    250,
		TypeEntraIDGroup:                   36,
		TypeEntraIDServicePrincipal:        150,
		TypeEntraIDApplicationRegistration: 60,
		TypeRoleAssignment:                 120,
		TypeRoleDefinitions:                200,
		TypeDenyAssignment:                 9,
		TypeManagedIdentities:              24,
	},
	ScaleSeed: {
		TypeEC2Instance:                    640,
		TypeEntraIDUser:                    111207,
		TypeEntraIDGroup:                   36,
		TypeEntraIDServicePrincipal:        1379,
		TypeEntraIDApplicationRegistration: 447,
		TypeRoleAssignment:                 752,
		TypeRoleDefinitions:                7515,
		TypeDenyAssignment:                 9,
		TypeManagedIdentities:              52,
	},
}

// Types returns every record type the simulator serves: "policies",
// "exceptions", "EC2_INSTANCE" and the eight Azure CIEM types.
func Types() []string {
	return append([]string{TypePolicies, TypeExceptions, TypeEC2Instance}, azureTypes...)
}

// Count returns the number of records of typ a Server built with o starts
// with (after defaults): Counts[typ] when set, else Policies/Exceptions,
// else the Scale's figure. Unknown types count 0.
func (o Options) Count(typ string) int {
	if n, ok := o.Counts[typ]; ok {
		return max(n, 0)
	}
	switch typ {
	case TypePolicies:
		return defaultCount(o.Policies, 60)
	case TypeExceptions:
		return defaultCount(o.Exceptions, 1500)
	}
	counts := scaleCounts[o.Scale]
	if counts == nil {
		counts = scaleCounts[ScaleSmall]
	}
	return counts[typ]
}

// defaultCount maps an Options count field: 0 is the default, negative none.
func defaultCount(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// Validate reports an unknown Scale or an unknown type in Counts. New
// does not fail on them: it logs the problem and uses the small scale and
// ignores the unknown count.
func (o Options) Validate() error {
	if o.Scale != "" && scaleCounts[o.Scale] == nil {
		return fmt.Errorf("sim: unknown scale %q (want %q or %q)", o.Scale, ScaleSmall, ScaleSeed)
	}
	types := Types()
	for typ := range o.Counts {
		if !slices.Contains(types, typ) {
			return fmt.Errorf("sim: unknown type %q in Counts (want one of %s)", typ, strings.Join(types, ", "))
		}
	}
	return nil
}

// Records returns the exact bytes served for each record of typ (one of
// Types), in served order: the order of the Spring pages, or for
// EC2_INSTANCE the order of the marker pages (by update time, then uuid).
// Resource types are generated on first use. The slices are copies; an
// unknown type returns nil.
func (s *Server) Records(typ string) []json.RawMessage {
	st := s.q.storeOf(typ)
	if st == nil {
		return nil
	}
	return st.records()
}

// storeOf returns the store serving typ (generating it on first use), or
// nil for an unknown type.
func (q *qualys) storeOf(typ string) *store {
	switch typ {
	case TypePolicies:
		return q.policies
	case TypeExceptions:
		return q.exceptions.st
	}
	if rt := q.resources[typ]; rt != nil {
		return rt.load()
	}
	return nil
}
