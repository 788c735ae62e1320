package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"qtc/store"
	"qtc/sync/relations"
)

// Coverage joins sources no single anchor joins (issue 6): Entra ID devices
// with no matching Qualys host asset and Qualys hosts with no Entra ID
// device; TotalCloud's ENTRA_ID_USER records and the users synced straight
// from Graph, each missing on the other side.

// Coverage gaps, as the Coverage screen names them.
const (
	GapDeviceWithoutHost    = "Entra device, no Qualys host"
	GapHostWithoutDevice    = "Qualys host, no Entra device"
	GapTotalCloudUserOnly   = "TotalCloud user, not in Graph"
	GapGraphUserOnly        = "Graph user, not in TotalCloud"
	totalCloudUsersType     = "azure/ENTRA_ID_USER"
	DeviceHostRule          = "device displayName = host name, DNS host name or first label of its FQDN (case-insensitive)"
	TotalCloudGraphUserRule = "TotalCloud resourceId = Graph user id, or the same userPrincipalName (case-insensitive)"
)

// CoverageRow is one record missing its counterpart.
type CoverageRow struct {
	Gap                 string
	Name                string
	Connector, Type, ID string // the record, to open it
	Detail              string
}

// Coverage lists every gap across the store's connectors. A comparison
// needs both sides: with no Entra ID devices connector (or no Qualys hosts)
// synced, that comparison is left out and said so in notes.
func (e *Engine) Coverage(ctx context.Context) (rows []CoverageRow, notes []string, err error) {
	conns, err := e.Store.Connectors(ctx)
	if err != nil {
		return nil, nil, err
	}
	var qualysConns, deviceConns, identityConns []string
	for _, c := range conns {
		switch c.Kind {
		case KindQualys:
			qualysConns = append(qualysConns, c.Name)
		case KindEntraDevices:
			deviceConns = append(deviceConns, c.Name)
		case KindEntra:
			identityConns = append(identityConns, c.Name)
		}
	}

	hosts, err := e.coverageSide(ctx, qualysConns, relations.TypeHosts, hostKeys)
	if err != nil {
		return nil, nil, err
	}
	devices, err := e.coverageSide(ctx, deviceConns, relations.TypeDevices, deviceKeys)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(hosts) == 0:
		notes = append(notes, "no Qualys host assets synced: devices and hosts not compared")
	case len(devices) == 0:
		notes = append(notes, "no Entra ID devices synced (an entra-devices connector): devices and hosts not compared")
	default:
		rows = append(rows, unmatched(devices, hosts, GapDeviceWithoutHost)...)
		rows = append(rows, unmatched(hosts, devices, GapHostWithoutDevice)...)
	}

	tcUsers, err := e.coverageSide(ctx, qualysConns, totalCloudUsersType, totalCloudUserKeys)
	if err != nil {
		return nil, nil, err
	}
	graphUsers, err := e.coverageSide(ctx, identityConns, relations.TypeUsers, graphUserKeys)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(tcUsers) == 0:
		notes = append(notes, "no TotalCloud ENTRA_ID_USER records synced: users not compared")
	case len(graphUsers) == 0:
		notes = append(notes, "no users synced from Graph (an entra connector): users not compared")
	default:
		rows = append(rows, unmatched(tcUsers, graphUsers, GapTotalCloudUserOnly)...)
		rows = append(rows, unmatched(graphUsers, tcUsers, GapGraphUserOnly)...)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Gap != rows[j].Gap {
			return rows[i].Gap < rows[j].Gap
		}
		return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name)
	})
	return rows, notes, nil
}

// sideRecord is one record of a coverage side with its match keys.
type sideRecord struct {
	row  CoverageRow
	keys []string
}

// coverageSide reads the present records of typ in the connectors.
func (e *Engine) coverageSide(ctx context.Context, conns []string, typ string, keys func(map[string]json.RawMessage) (name string, ks []string, detail string)) ([]sideRecord, error) {
	var out []sideRecord
	for _, conn := range conns {
		err := e.Store.Each(ctx, conn, typ, func(r store.Record) error {
			if !r.Removed.IsZero() {
				return nil
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(r.Raw, &m); err != nil {
				return fmt.Errorf("coverage: %s/%s %s: %w", conn, typ, r.ID, err)
			}
			name, ks, detail := keys(m)
			out = append(out, sideRecord{row: CoverageRow{Name: name, Connector: conn, Type: typ, ID: r.ID, Detail: detail}, keys: ks})
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}

// unmatched returns the records of a that share no key with any of b.
func unmatched(a, b []sideRecord, gap string) []CoverageRow {
	seen := make(map[string]bool, len(b)*2)
	for _, r := range b {
		for _, k := range r.keys {
			seen[k] = true
		}
	}
	var out []CoverageRow
	for _, r := range a {
		found := false
		for _, k := range r.keys {
			if seen[k] {
				found = true
				break
			}
		}
		if !found {
			row := r.row
			row.Gap = gap
			out = append(out, row)
		}
	}
	return out
}

func str(m map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return s
}

// nameKey normalises a host or device name for matching.
func nameKey(s string) string { return "name:" + strings.ToLower(strings.TrimSpace(s)) }

func deviceKeys(m map[string]json.RawMessage) (string, []string, string) {
	name := str(m, "displayName")
	var ks []string
	if name != "" {
		ks = append(ks, nameKey(name))
	}
	return name, ks, strings.TrimSpace(str(m, "operatingSystem") + " " + str(m, "operatingSystemVersion"))
}

func hostKeys(m map[string]json.RawMessage) (string, []string, string) {
	name := str(m, "name")
	var ks []string
	for _, n := range []string{name, str(m, "dnsHostName"), firstLabel(str(m, "fqdn")), firstLabel(str(m, "dnsHostName"))} {
		if n != "" {
			ks = append(ks, nameKey(n))
		}
	}
	return name, ks, strings.TrimSpace(str(m, "address") + " " + str(m, "os"))
}

func firstLabel(fqdn string) string {
	if i := strings.IndexByte(fqdn, '.'); i > 0 {
		return fqdn[:i]
	}
	return ""
}

func totalCloudUserKeys(m map[string]json.RawMessage) (string, []string, string) {
	var ks []string
	if id := str(m, "resourceId"); id != "" {
		ks = append(ks, "id:"+strings.ToLower(id))
	}
	upn := str(m, "userPrincipalName")
	if upn != "" {
		ks = append(ks, "upn:"+strings.ToLower(upn))
	}
	return str(m, "displayName"), ks, upn
}

func graphUserKeys(m map[string]json.RawMessage) (string, []string, string) {
	var ks []string
	if id := str(m, "id"); id != "" {
		ks = append(ks, "id:"+strings.ToLower(id))
	}
	upn := str(m, "userPrincipalName")
	if upn != "" {
		ks = append(ks, "upn:"+strings.ToLower(upn))
	}
	return str(m, "displayName"), ks, upn
}
