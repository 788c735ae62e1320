package sim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Data generation. Everything here is a pure function of the seed (and, for
// exceptions, of the UTC day of the clock at New), using a private PRNG so
// that the bytes never change with the Go release.

// rng is SplitMix64: small, fast and stable.
type rng struct{ s uint64 }

// newRNG derives an independent stream per purpose, so that changing the
// number of exceptions does not change the policies.
func newRNG(seed int64, stream string) *rng {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(stream); i++ {
		h ^= uint64(stream[i])
		h *= 1099511628211
	}
	r := &rng{s: uint64(seed)*0x9E3779B97F4A7C15 ^ h}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// intn returns a value in [0, n).
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int((r.next() >> 1) % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/(1<<53) < p }

func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }

// weighted returns an index drawn with the given weights.
func (r *rng) weighted(ws []int) int {
	total := 0
	for _, w := range ws {
		total += w
	}
	x := r.intn(total)
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return len(ws) - 1
}

// spread draws n indexes with the given weights and then makes sure every
// index occurs at least once (when n is large enough).
func (r *rng) spread(n int, ws []int) []int {
	out := make([]int, n)
	counts := make([]int, len(ws))
	for i := range out {
		out[i] = r.weighted(ws)
		counts[out[i]]++
	}
	if n < len(ws) {
		return out
	}
	for v := range ws {
		for counts[v] == 0 {
			j := r.intn(n)
			if counts[out[j]] > 1 {
				counts[out[j]]--
				out[j] = v
				counts[v]++
			}
		}
	}
	return out
}

func (r *rng) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.intn(i+1))
	}
}

// uuid returns a random-looking lowercase version-4 UUID.
func (r *rng) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.next())
	binary.BigEndian.PutUint64(b[8:], r.next())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// uniqueUUID draws UUIDs until one is unused.
func (r *rng) uniqueUUID(seen map[string]bool) string {
	for {
		u := r.uuid()
		if !seen[u] {
			seen[u] = true
			return u
		}
	}
}

// Time formats of the TotalCloud API.
const (
	qualysTimeLayout    = "2006-01-02T15:04:05-0700"     // createdDate, createdOn: "2020-07-09T11:33:36+0000"
	qualysMilliLayout   = "2006-01-02T15:04:05.000Z0700" // startingDate: "2026-05-17T18:30:00.000Z"
	qualysDataEpochText = "2026-06-29T00:00:00Z"         // policies are dated up to the release notes' date
)

func fmtQualysTime(t time.Time) string  { return t.UTC().Format(qualysTimeLayout) }
func fmtQualysMilli(t time.Time) string { return t.UTC().Format(qualysMilliLayout) }

// cloud describes one cloud provider's vocabulary.
type cloud struct {
	typ      string // cloudType value
	short    string // as used in titles: "AWS", "Azure", "GCP", "OCI"
	long     string
	accounts string // plural of the account unit
	account  string // account unit in names
	services []string
	cis      []string
	cidLo    int // control ID range
	cidHi    int
	cidPool  int // number of distinct CIDs policies draw from
}

var qualysClouds = []*cloud{
	{
		typ: "AWS", short: "AWS", long: "Amazon Web Services", accounts: "accounts", account: "Account",
		services: []string{"EC2", "S3", "IAM", "RDS", "Lambda", "VPC", "CloudTrail", "CloudWatch", "KMS",
			"EKS", "ECS", "ECR", "DynamoDB", "ElastiCache", "Elastic Load Balancing", "CloudFront",
			"Route 53", "SNS", "SQS", "Redshift", "EFS", "API Gateway", "Secrets Manager", "GuardDuty",
			"Config", "SageMaker", "OpenSearch", "Backup"},
		cis: []string{
			"CIS Amazon Web Services Foundations Benchmark v1.4.0",
			"CIS Amazon Web Services Foundations Benchmark v1.5.0",
			"CIS Amazon Web Services Foundations Benchmark v2.0.0",
			"CIS Amazon Web Services Foundations Benchmark v3.0.0",
			"CIS AWS Compute Services Benchmark v1.0.0",
			"CIS AWS Storage Services Benchmark v1.0.0",
			"CIS AWS Database Services Benchmark v1.0.0",
			"CIS Amazon Elastic Kubernetes Service (EKS) Benchmark v1.4.0",
		},
		cidLo: 1000, cidHi: 9999, cidPool: 600,
	},
	{
		typ: "AZURE", short: "Azure", long: "Microsoft Azure", accounts: "subscriptions", account: "Subscription",
		services: []string{"Virtual Machines", "Storage", "Database Service", "SQL Database", "Key Vault",
			"App Service", "Kubernetes Service", "Network Security Groups", "Monitor", "Entra ID",
			"Cosmos DB", "Functions", "Container Registry", "Load Balancer", "Application Gateway",
			"Virtual Network", "Defender for Cloud", "Logic Apps", "Data Factory", "Synapse Analytics"},
		cis: []string{
			"CIS Microsoft Azure Foundations Benchmark v1.5.0",
			"CIS Microsoft Azure Foundations Benchmark v2.0.0",
			"CIS Microsoft Azure Foundations Benchmark v2.1.0",
			"CIS Microsoft Azure Compute Services Benchmark v1.0.0",
			"CIS Microsoft Azure Storage Services Benchmark v1.0.0",
			"CIS Azure Kubernetes Service (AKS) Benchmark v1.4.0",
		},
		cidLo: 50000, cidHi: 50999, cidPool: 400,
	},
	{
		typ: "GCP", short: "GCP", long: "Google Cloud Platform", accounts: "projects", account: "Project",
		services: []string{"Compute Engine", "Cloud Storage", "IAM", "Cloud SQL", "Kubernetes Engine",
			"BigQuery", "Cloud Functions", "Cloud Run", "VPC Network", "Cloud KMS", "Cloud Logging",
			"Pub/Sub", "Cloud DNS", "Dataproc", "Memorystore", "Filestore", "Cloud Load Balancing",
			"Secret Manager", "App Engine", "Spanner"},
		cis: []string{
			"CIS Google Cloud Platform Foundation Benchmark v1.3.0",
			"CIS Google Cloud Platform Foundation Benchmark v2.0.0",
			"CIS Google Cloud Platform Foundation Benchmark v3.0.0",
			"CIS Google Kubernetes Engine (GKE) Benchmark v1.5.0",
		},
		cidLo: 52000, cidHi: 52999, cidPool: 300,
	},
	{
		typ: "OCI", short: "OCI", long: "Oracle Cloud Infrastructure", accounts: "tenancies", account: "Compartment",
		services: []string{"Compute", "Object Storage", "Identity and Access Management", "Autonomous Database",
			"Networking", "Vault", "Container Engine for Kubernetes", "Block Volume", "File Storage",
			"Load Balancer", "Audit", "Logging", "Functions", "API Gateway", "Bastion", "Cloud Guard",
			"Events", "Notifications"},
		cis: []string{
			"CIS Oracle Cloud Infrastructure Foundations Benchmark v1.2.0",
			"CIS Oracle Cloud Infrastructure Foundations Benchmark v2.0.0",
			"CIS Oracle Cloud Infrastructure Foundations Benchmark v3.0.0",
		},
		cidLo: 54000, cidHi: 54999, cidPool: 200,
	},
}

var (
	qualysFrameworks = []string{"PCI DSS v4.0", "NIST SP 800-53 Rev 5", "HIPAA", "SOC 2", "ISO/IEC 27001:2022",
		"GDPR", "NIST CSF 2.0", "FedRAMP Moderate", "CSA CCM v4", "MITRE ATT&CK"}
	qualysTeams = []string{"Payments", "Platform", "Data Platform", "SRE", "SecOps", "Identity", "Retail",
		"Analytics", "Mobile", "Finance", "HR Systems", "DevOps", "Networking", "ML Platform"}
	qualysPolicyKinds = []string{"Guardrails", "Hardening Policy", "Baseline Policy", "Security Policy",
		"Production Policy", "IaC Policy"}
	qualysPurposes = []string{"production workloads", "internet-facing services",
		"workloads handling cardholder data", "workloads handling personal data", "shared platform services"}
	qualysEnvs = []string{"prod-payments", "prod-web", "prod-data", "staging-web", "staging-api", "dev-sandbox",
		"shared-services", "data-lake", "analytics", "ml-platform", "security-tooling", "legacy-erp",
		"mobile-backend", "partner-portal", "hr-systems", "finance-reporting", "dr-site", "edge-cdn"}
	qualysTopics = []string{"Logging", "Encryption at Rest", "Public Access", "MFA", "Key Rotation",
		"Network Exposure", "Tagging Standard", "Backup Retention", "TLS Version", "Root Account Usage"}
	qualysTicketPrefixes = []string{"SEC", "RISK", "CLOUD", "GRC", "CHG"}
	qualysProjects       = []string{"datacenter exit", "Kubernetes migration", "IAM redesign", "logging overhaul",
		"network segmentation", "database upgrade", "vendor replacement"}
)

// qualysUsers returns the subscription's user names, Qualys style
// ("quays_zn68").
func qualysUsers(seed int64) []string {
	r := newRNG(seed, "users")
	prefix := r.pick([]string{"acmec", "initc", "globx", "umbrl", "cybdn", "wayne"})
	seen := map[string]bool{}
	var users []string
	for len(users) < 12 {
		u := fmt.Sprintf("%s_%c%c%02d", prefix, 'a'+r.intn(26), 'a'+r.intn(26), r.intn(100))
		if !seen[u] {
			seen[u] = true
			users = append(users, u)
		}
	}
	return users
}

// recordBufs are marshalRecord's scratch buffers.
var recordBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// marshalRecord encodes v compactly, without HTML escaping, into a slice
// of exactly the record's size (records are kept for the server's life).
func marshalRecord(v any) []byte {
	buf := recordBufs.Get().(*bytes.Buffer)
	defer recordBufs.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("sim: marshal record: " + err.Error())
	}
	return bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// uniqueName returns base if unused, else base with a ticket-like suffix.
func uniqueName(r *rng, seen map[string]bool, base string, i int) string {
	name := base
	for try := 0; seen[name]; try++ {
		if try < 8 {
			name = fmt.Sprintf("%s - %s-%d", base, r.pick(qualysTicketPrefixes), r.between(1000, 9999))
		} else {
			name = fmt.Sprintf("%s #%d", base, i+1)
		}
	}
	seen[name] = true
	return name
}

// qualysPolicy is one policy, fields in the order of the v2 policies
// sample.
type qualysPolicy struct {
	UUID            string   `json:"uuid"`
	Title           string   `json:"title"`
	CloudType       string   `json:"cloudType"`
	Version         string   `json:"version"`
	CreatedBy       string   `json:"createdBy"`
	ModifiedBy      string   `json:"modifiedBy"`
	CreatedDate     string   `json:"createdDate"`
	ModifiedDate    string   `json:"modifiedDate"`
	Header          string   `json:"header"`
	Steps           []string `json:"steps"`
	Footer          string   `json:"footer"`
	CustomerCreated bool     `json:"customerCreated"`
	Type            string   `json:"type"`
	Scope           string   `json:"scope"`
	ControlIDs      []int    `json:"controlIds"`
	ExecutionType   string   `json:"executionType"`
	TagIDs          []int    `json:"tagIds"`
}

// policyTemplate is a system-defined policy of the catalog.
type policyTemplate struct {
	cloud  *cloud
	title  string
	header string
}

func systemCatalog(r *rng) []policyTemplate {
	per := make([][]policyTemplate, len(qualysClouds))
	for ci, c := range qualysClouds {
		var ts []policyTemplate
		for _, svc := range c.services {
			ts = append(ts, policyTemplate{c, c.short + " " + svc + " Best Practices Policy", fmt.Sprintf(
				"This policy helps in automated auditing and reporting on the %[1]s %[2]s service resources misconfigurations, "+
					"unwarranted access and non-standard deployments, and provides remediation steps to manage risks. "+
					"To help secure your %[1]s resources, follow these recommendations for the %[2]s services of %[1]s.",
				c.short, svc)})
		}
		for _, b := range c.cis {
			ts = append(ts, policyTemplate{c, b, fmt.Sprintf(
				"This policy is based on the %s. It provides prescriptive guidance for configuring security options "+
					"for a subset of %s services with an emphasis on foundational, testable, and architecture agnostic settings.",
				b, c.long)})
		}
		for _, f := range qualysFrameworks {
			ts = append(ts, policyTemplate{c, c.short + " " + f + " Compliance Policy", fmt.Sprintf(
				"This policy maps %s controls to the requirements of %s, so that you can track the compliance posture "+
					"of your %s %s in one place.", c.short, f, c.short, c.accounts)})
		}
		r.shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		per[ci] = ts
	}
	// Interleave the clouds round by round, in a random order each round,
	// so that any prefix of the catalog covers every cloud.
	var out []policyTemplate
	for more := true; more; {
		more = false
		order := []int{0, 1, 2, 3}
		r.shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, ci := range order {
			if len(per[ci]) > 0 {
				out = append(out, per[ci][0])
				per[ci] = per[ci][1:]
				more = true
			}
		}
	}
	return out
}

// cidPools draws, per cloud, the control IDs policies choose from (shared,
// so that policies overlap as they do in reality).
func cidPools(r *rng) map[*cloud][]int {
	pools := make(map[*cloud][]int, len(qualysClouds))
	for _, c := range qualysClouds {
		seen := map[int]bool{}
		pool := make([]int, 0, c.cidPool)
		for len(pool) < c.cidPool {
			id := r.between(c.cidLo, c.cidHi)
			if !seen[id] {
				seen[id] = true
				pool = append(pool, id)
			}
		}
		pools[c] = pool
	}
	return pools
}

func pickCIDs(r *rng, pool []int, n int) []int {
	seen := make(map[int]bool, n)
	out := make([]int, 0, n)
	for len(out) < n {
		id := pool[r.intn(len(pool))]
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

var (
	policyVersions       = []string{"1.0", "1.1", "2.0"}
	systemVersionWeights = []int{60, 25, 15}
	customVersionWeights = []int{70, 20, 10}
)

// genPolicies returns n marshalled policies.
func genPolicies(seed int64, n int) [][]byte {
	if n <= 0 {
		return nil
	}
	r := newRNG(seed, "policies")
	users := qualysUsers(seed)
	catalog := systemCatalog(r)
	pools := cidPools(r)
	epoch, _ := time.Parse(time.RFC3339, qualysDataEpochText)
	sysFrom := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
	sysTo := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	custFrom := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	custTo := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	randTime := func(from, to time.Time) time.Time {
		return from.Add(time.Duration(r.intn(int(to.Sub(from)/time.Second))) * time.Second)
	}

	seenUUID := map[string]bool{}
	seenTitle := map[string]bool{}
	out := make([][]byte, 0, n)
	next := 0
	for i := 0; i < n; i++ {
		p := qualysPolicy{UUID: r.uniqueUUID(seenUUID), Steps: []string{}, TagIDs: []int{}}
		var c *cloud
		// The first four are system policies, one per cloud (the catalog
		// is interleaved), so that any list covers every cloud.
		custom := next >= len(catalog) || (i >= len(qualysClouds) && r.chance(0.25))
		if !custom {
			t := catalog[next]
			next++
			c = t.cloud
			p.Title = uniqueName(r, seenTitle, t.title, i)
			p.Header = t.header
			p.Version = policyVersions[r.weighted(systemVersionWeights)]
			p.CreatedBy = "SYSTEM"
			p.ModifiedBy = "SYSTEM"
			p.Type = "SYSTEM_DEFINED_POLICY"
			p.Scope = "GLOBAL"
			if r.chance(0.3) { // a system policy the customer has tuned
				p.ModifiedBy = r.pick(users)
				p.CustomerCreated = true
				p.Scope = "CUSTOMER"
			}
			p.ExecutionType = "RUN_TIME"
			if r.chance(0.1) {
				p.ExecutionType = "BUILD_TIME"
			}
			created := randTime(sysFrom, sysTo)
			p.CreatedDate = fmtQualysTime(created)
			p.ModifiedDate = p.CreatedDate
			if p.ModifiedBy != "SYSTEM" || p.Version != "1.0" || r.chance(0.3) {
				p.ModifiedDate = fmtQualysTime(randTime(created, epoch))
			}
		} else {
			c = qualysClouds[r.intn(len(qualysClouds))]
			svc := r.pick(c.services)
			team := r.pick(qualysTeams)
			kind := r.pick(qualysPolicyKinds)
			p.Title = uniqueName(r, seenTitle, fmt.Sprintf("%s %s %s %s", team, c.short, svc, kind), i)
			p.Version = policyVersions[r.weighted(customVersionWeights)]
			p.CreatedBy = r.pick(users)
			p.ModifiedBy = p.CreatedBy
			if r.chance(0.4) {
				p.ModifiedBy = r.pick(users)
			}
			p.CustomerCreated = true
			p.Type = "CUSTOM_POLICY"
			p.Scope = "CUSTOMER"
			p.ExecutionType = "RUN_TIME"
			purpose := r.pick(qualysPurposes)
			if kind == "IaC Policy" || r.chance(0.2) {
				p.ExecutionType = "BUILD_TIME"
				purpose = "infrastructure-as-code templates before deployment"
			}
			p.Header = fmt.Sprintf("Custom policy maintained by the %s team. It selects the %s %s controls that apply to %s.",
				team, c.short, svc, purpose)
			created := randTime(custFrom, custTo)
			p.CreatedDate = fmtQualysTime(created)
			p.ModifiedDate = fmtQualysTime(randTime(created, epoch))
		}
		p.CloudType = c.typ
		p.ControlIDs = pickCIDs(r, pools[c], r.between(5, 40))
		out = append(out, marshalRecord(p))
	}
	return out
}

// qualysException is one exception, fields in the order of the
// exceptions/list sample.
type qualysException struct {
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Reason       string `json:"reason"`
	State        string `json:"state"`
	StartingDate string `json:"startingDate"`
	EndingDate   string `json:"endingDate"`
	CreatedBy    string `json:"createdBy"`
	UpdatedBy    string `json:"updatedBy"`
	CreatedOn    string `json:"createdOn"`
	UpdatedOn    string `json:"updatedOn"`
	Scope        string `json:"scope"`
}

var (
	exceptionStates       = []string{"ACTIVE", "EXPIRED", "INACTIVE", "PENDING"}
	exceptionStateWeights = []int{50, 25, 12, 13}
	exceptionScopes       = []string{"CONNECTOR", "ACCOUNT", "RESOURCE", "CONTROL", "GLOBAL"}
	exceptionScopeWeights = []int{12, 20, 35, 25, 8}
	exceptionReasons      = []string{"Risk Accepted", "False Positive", "Compensating Control", "Business Exception", "Pending Remediation"}
	exceptionReasonWeight = []int{35, 20, 20, 15, 10}
	// Exception windows run from local midnight to local midnight, in the
	// time zone of whoever created them (the sample's 18:30:00.000Z is
	// midnight in India). Minutes east of UTC, with weights.
	exceptionZones       = []int{330, 0, -300, -480, 60, 540, 600}
	exceptionZoneWeights = []int{4, 3, 2, 1, 2, 1, 1}
)

// End of an active exception's window: within a week, within months, or
// years away.
const (
	endSoon = iota
	endMonths
	endFar
)

var exceptionEndWeights = []int{20, 45, 35}

// genExceptions returns n marshalled exceptions. Their windows are placed
// relative to the UTC day of now, so that states stay consistent (EXPIRED
// iff ended) for that whole day.
func genExceptions(seed int64, n int, now time.Time) [][]byte {
	if n <= 0 {
		return nil
	}
	r := newRNG(seed, "exceptions")
	users := qualysUsers(seed)
	day0 := now.UTC().Truncate(24 * time.Hour)

	clouds := r.spread(n, []int{1, 1, 1, 1})
	states := r.spread(n, exceptionStateWeights)
	scopes := r.spread(n, exceptionScopeWeights)
	reasons := r.spread(n, exceptionReasonWeight)
	ends := r.spread(n, exceptionEndWeights)
	// Make sure some running exceptions end within the week and some in
	// the far future.
	var running []int
	for i, s := range states {
		if exceptionStates[s] == "ACTIVE" || exceptionStates[s] == "INACTIVE" {
			running = append(running, i)
		}
	}
	for _, want := range []int{endSoon, endFar} {
		found := false
		for _, i := range running {
			found = found || ends[i] == want
		}
		if !found && len(running) > 0 {
			for try := 0; try < 4*len(running); try++ {
				if i := running[r.intn(len(running))]; ends[i] == endMonths {
					ends[i] = want
					break
				}
			}
		}
	}

	// localMidnight is 00:00 local time, day days after day0, in a zone
	// minutes east of UTC.
	localMidnight := func(day, zone int) time.Time {
		return day0.Add(time.Duration(day)*24*time.Hour - time.Duration(zone)*time.Minute)
	}
	durations := []int{1, 2, 3, 7, 14, 30, 60, 90, 180, 365}

	seenUUID := map[string]bool{}
	seenName := map[string]bool{}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		c := qualysClouds[clouds[i]]
		e := qualysException{
			UUID:   r.uniqueUUID(seenUUID),
			State:  exceptionStates[states[i]],
			Scope:  exceptionScopes[scopes[i]],
			Reason: exceptionReasons[reasons[i]],
		}
		svc := r.pick(c.services)
		env := r.pick(qualysEnvs)
		cid := r.between(c.cidLo, c.cidHi)
		ticket := fmt.Sprintf("%s-%d", r.pick(qualysTicketPrefixes), r.between(1000, 9999))

		var base string
		switch e.Scope {
		case "CONNECTOR":
			base = fmt.Sprintf("%s %s Connector Exception", c.short, env)
		case "ACCOUNT":
			acct := env
			switch c.typ {
			case "AWS":
				acct = fmt.Sprintf("%04d%04d%04d", r.intn(10000), r.intn(10000), r.intn(10000))
			case "GCP":
				acct = fmt.Sprintf("%s-%d", env, r.between(100000, 999999))
			}
			base = fmt.Sprintf("%s %s %s Exception", c.short, c.account, acct)
		case "RESOURCE":
			base = fmt.Sprintf("%s %s Resource Level Exception", c.short, svc)
			if r.chance(0.05) {
				base = c.short + " Resource Level Exception"
			}
		case "CONTROL":
			base = fmt.Sprintf("%s CID %d Control Exception", c.short, cid)
		default: // GLOBAL
			base = fmt.Sprintf("%s Global %s Exception", c.short, r.pick(qualysTopics))
		}
		e.Name = uniqueName(r, seenName, base, i)

		team := r.pick(qualysTeams)
		switch {
		case r.chance(0.08):
			e.Description = c.short // as terse as the sample's "OCI"
		case e.Reason == "Risk Accepted":
			e.Description = fmt.Sprintf("Risk accepted by the %s team for %s %s in %s until the %s completes.",
				team, c.short, svc, env, r.pick(qualysProjects))
		case e.Reason == "False Positive":
			e.Description = fmt.Sprintf("Control %d reports a false positive for %s %s resources managed by Terraform (%s).",
				cid, c.short, svc, ticket)
		case e.Reason == "Compensating Control":
			e.Description = fmt.Sprintf("%s %s access in %s is restricted by a compensating network control; see %s.",
				c.short, svc, env, ticket)
		case e.Reason == "Business Exception":
			e.Description = fmt.Sprintf("Approved business exception for %s %s workloads owned by %s; reviewed quarterly.",
				c.short, env, team)
		default: // Pending Remediation
			e.Description = fmt.Sprintf("Remediation of %s %s findings in %s is scheduled by the %s team; tracked in %s.",
				c.short, svc, env, team, ticket)
		}

		zone := exceptionZones[r.weighted(exceptionZoneWeights)]
		var startDay, endDay int
		switch e.State {
		case "EXPIRED":
			endDay = r.between(-400, -2)
			startDay = endDay - durations[r.intn(len(durations))]
		case "PENDING":
			startDay = r.between(2, 30)
			endDay = startDay + durations[3+r.intn(len(durations)-3)]
		default: // ACTIVE, INACTIVE: started, not ended
			startDay = r.between(-365, -1)
			switch ends[i] {
			case endSoon:
				endDay = r.between(2, 6)
			case endMonths:
				endDay = r.between(8, 180)
			default:
				endDay = r.between(365, 1825)
			}
		}
		start := localMidnight(startDay, zone)
		end := localMidnight(endDay, zone).Add(-time.Second)
		e.StartingDate = fmtQualysMilli(start)
		e.EndingDate = fmtQualysMilli(end)

		latest := day0.Add(-time.Hour) // nothing was created or updated today
		var created time.Time
		if e.State == "PENDING" {
			created = latest.Add(-time.Duration(r.between(0, 20*24*3600)) * time.Second)
		} else {
			created = start.Add(time.Duration(r.between(-7*24*3600, 24*3600)) * time.Second)
			if created.After(latest) {
				created = latest.Add(-time.Duration(r.between(0, 3*24*3600)) * time.Second)
			}
		}
		updated := created
		if e.State == "INACTIVE" || r.chance(0.5) {
			span := max(60, int(latest.Sub(created)/time.Second))
			updated = created.Add(time.Duration(r.between(60, span)) * time.Second)
		}
		e.CreatedBy = r.pick(users)
		e.UpdatedBy = e.CreatedBy
		if updated.After(created) && r.chance(0.3) {
			e.UpdatedBy = r.pick(users)
		}
		e.CreatedOn = fmtQualysTime(created)
		e.UpdatedOn = fmtQualysTime(updated)
		out = append(out, marshalRecord(e))
	}
	return out
}

// genPolicyEntries returns n policies as store entries.
func genPolicyEntries(seed int64, n int) []*entry {
	recs := genPolicies(seed, n)
	out := make([]*entry, len(recs))
	for i, raw := range recs {
		var p struct {
			UUID         string `json:"uuid"`
			ModifiedDate string `json:"modifiedDate"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			panic("sim: decode own policy: " + err.Error())
		}
		t, _ := time.Parse(qualysTimeLayout, p.ModifiedDate)
		out[i] = &entry{id: p.UUID, raw: raw, updated: t.UnixNano()}
	}
	return out
}
