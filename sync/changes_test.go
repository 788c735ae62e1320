package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"qtc/api/qualys"
	"qtc/api/sim"
	qsync "qtc/sync"
)

func TestExceptionCRUDKeepsTheServersVersion(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 2, Exceptions: 10})
	ctx := context.Background()
	if _, err := f.engine.Sync(ctx, "t", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	in := qualys.ExceptionInput{
		Name: "Accept legacy S3 logging gap", Reason: "Risk Accepted", Scope: "ACCOUNT", CloudType: "AWS",
		StartingDate: time.Now().UTC().Format(time.RFC3339), EndingDate: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339),
	}
	rec, err := f.engine.CreateException(ctx, "t", in)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.engine.Store.Get(ctx, "t", "exceptions", rec.ID)
	if err != nil || !containsRaw(f.sim.Records(sim.TypeExceptions), stored.Raw) {
		t.Fatalf("stored create %s: %v; want the server's bytes", rec.ID, err)
	}
	if stored.Cells[1] != "ACTIVE" {
		t.Errorf("state cell %q, want the server's ACTIVE", stored.Cells[1])
	}

	in.Reason = "Compensating Control"
	if _, err := f.engine.UpdateException(ctx, "t", rec.ID, in); err != nil {
		t.Fatal(err)
	}
	stored, _ = f.engine.Store.Get(ctx, "t", "exceptions", rec.ID)
	if stored.Cells[2] != "Compensating Control" || !containsRaw(f.sim.Records(sim.TypeExceptions), stored.Raw) {
		t.Errorf("after update: %q", stored.Raw)
	}

	// A refusal comes back verbatim; nothing changes locally.
	dup := in
	if _, err := f.engine.CreateException(ctx, "t", dup); err == nil || !strings.Contains(err.Error(), in.Name) {
		t.Errorf("duplicate create: %v, want the server's message naming it", err)
	}
	// Invalid input never reaches the server.
	bad := in
	bad.EndingDate = bad.StartingDate
	before := f.sim.Stats().Requests
	if _, err := f.engine.CreateException(ctx, "t", bad); err == nil || !strings.Contains(err.Error(), "endingDate") {
		t.Errorf("bad dates: %v", err)
	}
	if after := f.sim.Stats().Requests; len(after) != len(before) {
		for k, v := range after {
			if before[k] != v {
				t.Errorf("invalid input sent a request to %s", k)
			}
		}
	}

	deleted, err := f.engine.DeleteExceptions(ctx, "t", []string{rec.ID})
	if err != nil || len(deleted) != 1 {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if _, err := f.engine.Store.Get(ctx, "t", "exceptions", rec.ID); err == nil {
		t.Error("deleted exception still in the store")
	}
	f.assertTruth("exceptions", toBytes(f.sim.ExceptionRecords()))
}

func TestRefreshResourceByUUID(t *testing.T) {
	f := resourceFixture(t)
	ctx := context.Background()
	ec2 := resName(sim.TypeEC2Instance)
	if _, err := f.engine.Sync(ctx, "t", qsync.Options{Types: []string{ec2}}); err != nil {
		t.Fatal(err)
	}
	res := f.sim.Mutate(sim.Mutation{Type: sim.TypeEC2Instance, Change: 1, Seed: 9})
	id := res.Changed[0]
	before, _ := f.engine.Store.Get(ctx, "t", ec2, id)
	after, err := f.engine.RefreshResource(ctx, "t", ec2, id)
	if err != nil {
		t.Fatal(err)
	}
	if string(after.Raw) == string(before.Raw) {
		t.Error("refresh did not fetch the changed record")
	}
	if _, err := f.engine.RefreshResource(ctx, "t", "exceptions", id); err == nil {
		t.Error("refresh of a non-resource type accepted")
	}
}

func TestCreateAzureOrgConnector(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 1, Exceptions: 1})
	ctx := context.Background()
	in := qualys.AzureOrgConnectorInput{
		Name: "Contoso tenant", TenantName: "Contoso", TenantID: "8f2a1c3e-1111-4a4a-9b9b-0123456789ab",
		ApplicationID: "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef", SecretValue: "s3cr3t~value-XYZ",
		ConnectorAppInfos: []qualys.ConnectorAppInfo{{Name: "AI"}, {Name: "CSA"}}, ConnectorPrefixName: "contoso",
		OrgRunFrequency: qualys.RunFrequency{Hours: 1}, ConnectorRunFrequency: qualys.RunFrequency{Hours: 4},
		IncludedMem: []string{}, ExcludedMem: []string{}, DefaultTagIDs: []string{},
	}
	rec, err := f.engine.CreateAzureOrg(ctx, "t", in)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Cells[0] != "Contoso tenant" || rec.Cells[1] != "PENDING" || strings.Contains(string(rec.Raw), in.SecretValue) {
		t.Errorf("stored %q / %s", rec.Cells, rec.Raw)
	}
	if _, err := f.engine.CreateAzureOrg(ctx, "t", in); err == nil {
		t.Error("a duplicate name was accepted")
	} else if strings.Contains(err.Error(), in.SecretValue) {
		t.Error("the error leaks the secret")
	}
	in.ConnectorPrefixName = strings.Repeat("x", 31)
	if _, err := f.engine.CreateAzureOrg(ctx, "t", in); err == nil || !strings.Contains(err.Error(), "connectorPrefixName") {
		t.Errorf("31-character prefix: %v", err)
	}
}
