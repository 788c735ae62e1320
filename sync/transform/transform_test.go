package transform

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// base gives every required source field a value.
func base(m Map) map[string]any {
	src := map[string]any{}
	for _, r := range m.Rules {
		if r.Required {
			src[r.Source] = "req-" + r.Source
		}
	}
	return src
}

func applyJSON(t *testing.T, m Map, src map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(src)
	out, err := Apply(m, raw)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestEveryRow checks each row of each map on its own: the source value
// lands at the target path.
func TestEveryRow(t *testing.T) {
	for typ, m := range Maps {
		for i, r := range m.Rules {
			t.Run(fmt.Sprintf("%s/%d %s→%s", typ, i, r.Source, r.Target), func(t *testing.T) {
				src := base(m)
				switch {
				case r.Source == "*":
					src["displayName"] = "Contoso"
					out := applyJSON(t, m, src)
					if get(out, strings.TrimSuffix(r.Target, ".&")+".displayName") != "Contoso" {
						t.Errorf("pass-through lost the record: %v", out)
					}
				case r.Picker != nil:
					for _, c := range []struct {
						v    any
						want string
					}{{true, r.Picker.True}, {false, r.Picker.False}, {nil, r.Picker.Absent}} {
						s := base(m)
						if c.v != nil {
							s[r.Source] = c.v
						}
						if got := get(applyJSON(t, m, s), r.Target); got != c.want {
							t.Errorf("%s=%v → %v, want %s", r.Source, c.v, got, c.want)
						}
					}
				case strings.Contains(r.Source, "[]."):
					arr, field, _ := strings.Cut(r.Source, "[].")
					nav, _, _ := strings.Cut(arr, ".")
					src[nav] = map[string]any{"value": []any{map[string]any{field: "a0"}, map[string]any{field: "a1"}}}
					out := applyJSON(t, m, src)
					tgtArr, tgtField, _ := strings.Cut(r.Target, "[].")
					elems, _ := get(out, tgtArr).([]any)
					if len(elems) != 2 || get(elems[0], tgtField) != "a0" || get(elems[1], tgtField) != "a1" {
						t.Errorf("array mapping gave %v", get(out, tgtArr))
					}
				default:
					src[r.Source] = "v-" + r.Source
					if got := get(applyJSON(t, m, src), r.Target); got != "v-"+r.Source {
						t.Errorf("target %s = %v, want v-%s", r.Target, got, r.Source)
					}
				}
			})
		}
	}
}

func TestRequiredFieldMissingIsAnError(t *testing.T) {
	_, err := Apply(Maps["devices"], []byte(`{"id":"d1"}`))
	if err == nil || !strings.Contains(err.Error(), "displayName") {
		t.Errorf("error %v, want one naming displayName", err)
	}
	if _, err := Apply(Maps["users"], []byte(`[1,2]`)); err == nil {
		t.Error("a non-object record was accepted")
	}
}

func TestUserMapEndToEnd(t *testing.T) {
	raw := []byte(`{"id":"u1","userPrincipalName":"ada@contoso.com","displayName":"Ada","accountEnabled":false,"department":"R&D",
		"memberOf":{"value":[{"id":"g1","displayName":"Admins","uniqueName":"admins"},{"id":"g2","displayName":"Staff"}]}}`)
	out, err := Apply(Maps["users"], raw)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.Unmarshal(out, &v)
	for path, want := range map[string]any{
		"asset.assetHeader.externalAssetId":                           "ada@contoso.com",
		"asset.assetHeader.vendorAssetId":                             "u1",
		"asset.assetHeader.status":                                    "INACTIVE",
		"asset.assetDetail.typedAttributes.entraUserDepartment":       "R&D",
		"asset.assetDetail.untypedAttributes.entraUserAccountEnabled": false,
	} {
		if got := get(v, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	rel, _ := get(v, "asset.assetRelations").([]any)
	if len(rel) != 2 || get(rel[0], "assetDetail.groupAssetClass.name") != "admins" || get(rel[1], "assetHeader.vendorAssetId") != "g2" {
		t.Errorf("relations %v", rel)
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"id":"u1","userPrincipalName":"a","displayName":"A","memberOf":{"value":[{"id":"g"}]}}`))
	f.Add([]byte(`{"memberOf":{"value":"x"},"appRoleAssignments":[1]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, m := range Maps {
			out, err := Apply(m, raw)
			if err == nil && !json.Valid(out) {
				t.Fatalf("invalid JSON out of %s", m.Name)
			}
		}
	})
}
