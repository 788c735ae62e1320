package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EC2_INSTANCE records of the AWS inventory. ec2Instance has the fields of
// the marker page's sample in its order; ec2Detail those of the by-uuid
// sample in its (different) order, with "lastUpdated" in place of
// "updated". Nested objects follow the samples that show them filled: tags
// and accountTags as in the marker sample, network interfaces and security
// groups as in the third EC2 sample (the bare object, whose other fields
// match the marker sample's order).

type awsTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type awsTagVK struct { // by-uuid order
	Value string `json:"value"`
	Key   string `json:"key"`
}

type awsGroup struct { // groupName first: network interface groups, by-uuid securityGroups
	GroupName string `json:"groupName"`
	GroupID   string `json:"groupId"`
}

type awsSecurityGroup struct { // list order
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
}

type awsNIC struct {
	NetworkInterfaceID string     `json:"networkInterfaceId"`
	Description        string     `json:"description"`
	SubnetID           string     `json:"subnetId"`
	Groups             []awsGroup `json:"groups"`
	PrivateDNSName     string     `json:"privateDnsName"`
	PrivateIPAddress   string     `json:"privateIpAddress"`
	SecondaryPrivateIP []string   `json:"secondaryPrivateIp"`
	PublicIP           *string    `json:"publicIp"`
	IPv6IP             []string   `json:"ipv6Ip"`
}

type awsNICDetail struct {
	NetworkInterfaceID string     `json:"networkInterfaceId"`
	SubnetID           string     `json:"subnetId"`
	IPv6IP             []string   `json:"ipv6Ip"`
	SecondaryPrivateIP []string   `json:"secondaryPrivateIp"`
	Description        string     `json:"description"`
	Groups             []awsGroup `json:"groups"`
	PrivateDNSName     string     `json:"privateDnsName"`
	PublicIP           *string    `json:"publicIp"`
	PrivateIPAddress   string     `json:"privateIpAddress"`
}

// null is a field that every sample shows as null.
type null = json.RawMessage

type ec2Instance struct {
	UUID                          string             `json:"uuid"`
	ConnectorUUID                 string             `json:"connectorUuid"`
	ConnectorUUIDs                []string           `json:"connectorUuids"`
	Region                        string             `json:"region"`
	Name                          string             `json:"name"`
	CloudType                     string             `json:"cloudType"`
	CreatedOn                     string             `json:"createdOn"`
	Created                       string             `json:"created"`
	RemediationEnabled            *bool              `json:"remediationEnabled"`
	CloudAccountID                string             `json:"cloudAccountId"`
	AccountAlias                  *string            `json:"accountAlias"`
	Tags                          []awsTag           `json:"tags"`
	ResourceID                    string             `json:"resourceId"`
	ControlsFailed                int                `json:"controlsFailed"`
	QualysTags                    json.RawMessage    `json:"qualysTags"` // null or []
	AdditionalDetails             null               `json:"additionalDetails"`
	DeletedFromCloud              null               `json:"deletedFromCloud"`
	IsSnapshotScanEnabled         bool               `json:"isSnapshotScanEnabled"`
	AccountTags                   []awsTag           `json:"accountTags"`
	FailedControlCids             null               `json:"failedControlCids"`
	NotDiscoveredInLast7Days      *bool              `json:"notDiscoveredInLast7Days"`
	InstanceID                    string             `json:"instanceId"`
	InstanceState                 string             `json:"instanceState"`
	SpotInstanceRequestID         *string            `json:"spotInstanceRequestId"`
	NetworkInterfaceAddresses     []awsNIC           `json:"networkInterfaceAddresses"`
	PrivateIPAddress              *string            `json:"privateIpAddress"`
	SecondaryPrivateIPAddress     null               `json:"secondaryPrivateIpAddress"`
	ElasticIPAddress              *string            `json:"elasticIpAddress"`
	SecurityGroups                []awsSecurityGroup `json:"securityGroups"`
	ResourceType                  string             `json:"resourceType"`
	InstanceType                  string             `json:"instanceType"`
	AvailabilityZone              string             `json:"availabilityZone"`
	ImageID                       string             `json:"imageId"`
	LaunchTime                    string             `json:"launchTime"`
	VpcID                         *string            `json:"vpcId"`
	SubnetID                      *string            `json:"subnetId"`
	PublicDNSName                 string             `json:"publicDnsName"`
	PrivateDNSName                string             `json:"privateDnsName"`
	PublicIPAddress               *string            `json:"publicIpAddress"`
	IPAddress                     null               `json:"ipAddress"`
	InstanceStatus                null               `json:"instanceStatus"`
	Events                        null               `json:"events"`
	IamInstanceProfile            null               `json:"iamInstanceProfile"`
	Vulnerabilities               null               `json:"vulnerabilities"`
	CriticalityScore              null               `json:"criticalityScore"`
	ArsScore                      null               `json:"arsScore"`
	VulnerabilityStats            null               `json:"vulnerabilityStats"`
	SecretStats                   null               `json:"secretStats"`
	Secrets                       null               `json:"secrets"`
	HasSecrets                    null               `json:"hasSecrets"`
	IamInstanceProfileRoleDetails null               `json:"iamInstanceProfileRoleDetails"`
	Classifications               null               `json:"classifications"`
	PrivateIPv6Address            null               `json:"privateIpv6Address"`
	PublicIPv6Address             null               `json:"publicIpv6Address"`
	Sev3Sev4Sev5VulnCount         int                `json:"sev3Sev4Sev5VulnCount"`
	Updated                       string             `json:"updated"`
}

type ec2Detail struct {
	SubnetID                      *string         `json:"subnetId"`
	ResourceID                    string          `json:"resourceId"`
	ArsScore                      null            `json:"arsScore"`
	UUID                          string          `json:"uuid"`
	AvailabilityZone              string          `json:"availabilityZone"`
	RemediationEnabled            *bool           `json:"remediationEnabled"`
	LastUpdated                   string          `json:"lastUpdated"`
	InstanceState                 string          `json:"instanceState"`
	NetworkInterfaceAddresses     []awsNICDetail  `json:"networkInterfaceAddresses"`
	CloudType                     string          `json:"cloudType"`
	IsSnapshotScanEnabled         bool            `json:"isSnapshotScanEnabled"`
	Events                        null            `json:"events"`
	IamInstanceProfileRoleDetails null            `json:"iamInstanceProfileRoleDetails"`
	ConnectorUUIDs                []string        `json:"connectorUuids"`
	ImageID                       string          `json:"imageId"`
	Created                       string          `json:"created"`
	CloudAccountID                string          `json:"cloudAccountId"`
	IPAddress                     null            `json:"ipAddress"`
	PrivateIPv6Address            null            `json:"privateIpv6Address"`
	PublicDNSName                 string          `json:"publicDnsName"`
	Secrets                       null            `json:"secrets"`
	PrivateIPAddress              *string         `json:"privateIpAddress"`
	Tags                          []awsTagVK      `json:"tags"`
	LaunchTime                    string          `json:"launchTime"`
	Classifications               null            `json:"classifications"`
	Name                          string          `json:"name"`
	SecondaryPrivateIPAddress     null            `json:"secondaryPrivateIpAddress"`
	Region                        string          `json:"region"`
	AccountAlias                  *string         `json:"accountAlias"`
	ControlsFailed                int             `json:"controlsFailed"`
	NotDiscoveredInLast7Days      *bool           `json:"notDiscoveredInLast7Days"`
	AccountTags                   []awsTagVK      `json:"accountTags"`
	FailedControlCids             null            `json:"failedControlCids"`
	PublicIPv6Address             null            `json:"publicIpv6Address"`
	CreatedOn                     string          `json:"createdOn"`
	SecretStats                   null            `json:"secretStats"`
	InstanceID                    string          `json:"instanceId"`
	VulnerabilityStats            null            `json:"vulnerabilityStats"`
	VpcID                         *string         `json:"vpcId"`
	HasSecrets                    null            `json:"hasSecrets"`
	PublicIPAddress               *string         `json:"publicIpAddress"`
	InstanceType                  string          `json:"instanceType"`
	AdditionalDetails             null            `json:"additionalDetails"`
	ConnectorUUID                 string          `json:"connectorUuid"`
	InstanceStatus                null            `json:"instanceStatus"`
	IamInstanceProfile            null            `json:"iamInstanceProfile"`
	SpotInstanceRequestID         *string         `json:"spotInstanceRequestId"`
	ElasticIPAddress              *string         `json:"elasticIpAddress"`
	Sev3Sev4Sev5VulnCount         int             `json:"sev3Sev4Sev5VulnCount"`
	QualysTags                    json.RawMessage `json:"qualysTags"`
	DeletedFromCloud              null            `json:"deletedFromCloud"`
	Vulnerabilities               null            `json:"vulnerabilities"`
	SecurityGroups                []awsGroup      `json:"securityGroups"`
	PrivateDNSName                string          `json:"privateDnsName"`
	CriticalityScore              null            `json:"criticalityScore"`
	ResourceType                  string          `json:"resourceType"`
}

// detail converts a list record to the by-uuid form.
func (v *ec2Instance) detail() *ec2Detail {
	vk := func(ts []awsTag) []awsTagVK {
		out := make([]awsTagVK, len(ts))
		for i, t := range ts {
			out[i] = awsTagVK{Value: t.Value, Key: t.Key}
		}
		return out
	}
	nics := make([]awsNICDetail, len(v.NetworkInterfaceAddresses))
	for i, n := range v.NetworkInterfaceAddresses {
		nics[i] = awsNICDetail{
			NetworkInterfaceID: n.NetworkInterfaceID, SubnetID: n.SubnetID, IPv6IP: n.IPv6IP,
			SecondaryPrivateIP: n.SecondaryPrivateIP, Description: n.Description, Groups: n.Groups,
			PrivateDNSName: n.PrivateDNSName, PublicIP: n.PublicIP, PrivateIPAddress: n.PrivateIPAddress,
		}
	}
	sgs := make([]awsGroup, len(v.SecurityGroups))
	for i, g := range v.SecurityGroups {
		sgs[i] = awsGroup{GroupName: g.GroupName, GroupID: g.GroupID}
	}
	return &ec2Detail{
		SubnetID: v.SubnetID, ResourceID: v.ResourceID, ArsScore: v.ArsScore, UUID: v.UUID,
		AvailabilityZone: v.AvailabilityZone, RemediationEnabled: v.RemediationEnabled, LastUpdated: v.Updated,
		InstanceState: v.InstanceState, NetworkInterfaceAddresses: nics, CloudType: v.CloudType,
		IsSnapshotScanEnabled: v.IsSnapshotScanEnabled, Events: v.Events, IamInstanceProfileRoleDetails: v.IamInstanceProfileRoleDetails,
		ConnectorUUIDs: v.ConnectorUUIDs, ImageID: v.ImageID, Created: v.Created, CloudAccountID: v.CloudAccountID,
		IPAddress: v.IPAddress, PrivateIPv6Address: v.PrivateIPv6Address, PublicDNSName: v.PublicDNSName, Secrets: v.Secrets,
		PrivateIPAddress: v.PrivateIPAddress, Tags: vk(v.Tags), LaunchTime: v.LaunchTime, Classifications: v.Classifications,
		Name: v.Name, SecondaryPrivateIPAddress: v.SecondaryPrivateIPAddress, Region: v.Region, AccountAlias: v.AccountAlias,
		ControlsFailed: v.ControlsFailed, NotDiscoveredInLast7Days: v.NotDiscoveredInLast7Days, AccountTags: vk(v.AccountTags),
		FailedControlCids: v.FailedControlCids, PublicIPv6Address: v.PublicIPv6Address, CreatedOn: v.CreatedOn,
		SecretStats: v.SecretStats, InstanceID: v.InstanceID, VulnerabilityStats: v.VulnerabilityStats, VpcID: v.VpcID,
		HasSecrets: v.HasSecrets, PublicIPAddress: v.PublicIPAddress, InstanceType: v.InstanceType,
		AdditionalDetails: v.AdditionalDetails, ConnectorUUID: v.ConnectorUUID, InstanceStatus: v.InstanceStatus,
		IamInstanceProfile: v.IamInstanceProfile, SpotInstanceRequestID: v.SpotInstanceRequestID,
		ElasticIPAddress: v.ElasticIPAddress, Sev3Sev4Sev5VulnCount: v.Sev3Sev4Sev5VulnCount, QualysTags: v.QualysTags,
		DeletedFromCloud: v.DeletedFromCloud, Vulnerabilities: v.Vulnerabilities, SecurityGroups: sgs,
		PrivateDNSName: v.PrivateDNSName, CriticalityScore: v.CriticalityScore, ResourceType: v.ResourceType,
	}
}

// awsAccount is one AWS account behind one connector.
type awsAccount struct {
	id        string
	alias     *string
	connector string
	tags      []awsTag
	regions   []awsRegion
}

type awsRegion struct {
	name    string
	vpc     string
	cidr    string // "10.12" style /16 prefix, or "172.31" (default VPC)
	subnets []awsSubnet
	sgs     []awsSecurityGroup
}

type awsSubnet struct{ id, az string }

var (
	awsRegions = []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
		"ap-northeast-3", "ap-southeast-2", "ap-south-1", "ca-central-1", "sa-east-1", "eu-north-1"}
	awsRegionWeights = []int{30, 12, 15, 12, 10, 5, 2, 5, 4, 2, 1, 2}
	awsInstanceTypes = []string{"t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge", "m5.large", "m5.xlarge",
		"m6i.large", "m6i.2xlarge", "c5.xlarge", "c6g.large", "r5.large", "r6i.xlarge", "g4dn.xlarge", "t4g.small"}
	awsTypeWeights = []int{12, 10, 14, 10, 5, 10, 6, 8, 3, 5, 4, 4, 3, 1, 5}
	awsRoles       = []string{"web", "api", "worker", "db", "bastion", "kafka", "redis", "jenkins-agent", "eks-node", "batch", "etl", "vpn"}
	awsSGNames     = []string{"web-sg", "app-sg", "db-sg", "ssh-from-bastion", "launch-wizard-1", "eks-cluster-sg", "monitoring", "internal-only"}
	awsAccountTagK = []string{"CostCenter", "Owner", "BusinessUnit", "DataClassification", "Compliance"}
	awsAccountWts  = []int{30, 22, 15, 10, 8, 6, 4, 3, 2, 2, 1, 1}
)

// ec2Layout is the AWS estate behind n instances.
type ec2Layout struct {
	accounts []awsAccount
	weights  []int
}

func newEC2Layout(seed int64, n int, customerID string) *ec2Layout {
	r := newRNG(seed, "aws/accounts")
	nAcc := min(len(awsAccountWts), max(3, (n+99)/100))
	l := &ec2Layout{weights: awsAccountWts[:nAcc]}
	seen := map[string]bool{}
	for i := 0; i < nAcc; i++ {
		var a awsAccount
		for a.id == "" || seen[a.id] {
			a.id = fmt.Sprintf("%04d%04d%04d", r.intn(10000), r.intn(10000), r.intn(10000))
		}
		seen[a.id] = true
		env := []string{"prod", "staging", "dev", "shared", "security", "sandbox", "data", "logging", "network", "ml", "dr", "legacy"}[i]
		if r.chance(0.6) {
			alias := fmt.Sprintf("%s-%s", r.pick(azureOrgs), env)
			a.alias = &alias
		}
		a.connector = nameUUID(customerID, "AWS", a.id)
		a.tags = []awsTag{{"Environment", env}}
		for _, k := range awsAccountTagK {
			if !r.chance(0.7) {
				continue
			}
			var v string
			switch k {
			case "CostCenter":
				v = fmt.Sprintf("CC-%04d", r.intn(10000))
			case "Owner":
				v = strings.ToLower(strings.ReplaceAll(r.pick(qualysTeams), " ", "-")) + "-team"
			case "BusinessUnit":
				v = r.pick([]string{"Retail", "Corporate", "Platform", "Payments", "Research"})
			case "DataClassification":
				v = r.pick([]string{"Confidential", "Internal", "Public", "Restricted"})
			default:
				v = r.pick([]string{"PCI", "SOC2", "HIPAA", "None"})
			}
			a.tags = append(a.tags, awsTag{k, v})
		}
		used := map[string]bool{}
		for k := r.between(1, 3); k > 0; k-- {
			name := awsRegions[r.weighted(awsRegionWeights)]
			if used[name] {
				continue
			}
			used[name] = true
			reg := awsRegion{name: name, vpc: "vpc-0" + r.hex(16), cidr: fmt.Sprintf("10.%d", r.intn(256))}
			if r.chance(0.3) {
				reg.cidr = "172.31"
			}
			for _, az := range []string{"a", "b", "c"}[:r.between(2, 3)] {
				reg.subnets = append(reg.subnets, awsSubnet{id: "subnet-0" + r.hex(16), az: name + az})
			}
			reg.sgs = append(reg.sgs, awsSecurityGroup{GroupID: "sg-0" + r.hex(16), GroupName: "default"})
			for _, sg := range awsSGNames {
				if r.chance(0.5) {
					reg.sgs = append(reg.sgs, awsSecurityGroup{GroupID: "sg-0" + r.hex(16), GroupName: sg})
				}
			}
			a.regions = append(a.regions, reg)
		}
		l.accounts = append(l.accounts, a)
	}
	return l
}

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }

// ipDashes turns "56.155.87.63" into "56-155-87-63".
func ipDashes(ip string) string { return strings.ReplaceAll(ip, ".", "-") }

func privateDNS(region, ip string) string {
	if region == "us-east-1" {
		return "ip-" + ipDashes(ip) + ".ec2.internal"
	}
	return "ip-" + ipDashes(ip) + "." + region + ".compute.internal"
}

func publicDNS(region, ip string) string {
	if region == "us-east-1" {
		return "ec2-" + ipDashes(ip) + ".compute-1.amazonaws.com"
	}
	return "ec2-" + ipDashes(ip) + "." + region + ".compute.amazonaws.com"
}

func (r *rng) publicIP() string {
	return fmt.Sprintf("%d.%d.%d.%d", []int{3, 18, 34, 35, 44, 52, 54, 56, 100}[r.intn(9)], r.intn(256), r.intn(256), 1+r.intn(254))
}

func (g *ec2Gen) genInstance(i int, fresh bool, now time.Time) *entry {
	r := recRNG(g.base, i)
	instanceID := "i-0" + r.hex(16)
	acct := &g.layout.accounts[r.weighted(g.layout.weights)]
	reg := &acct.regions[r.intn(len(acct.regions))]
	sub := reg.subnets[r.intn(len(reg.subnets))]

	state := []string{"running", "stopped", "terminated", "pending", "stopping"}[r.weighted([]int{70, 18, 10, 1, 1})]
	role, env := r.pick(awsRoles), r.pick(appEnvs)
	name := fmt.Sprintf("%s-%s-%02d", role, env, r.intn(100))
	tags := []awsTag{{"Name", name}, {"Environment", env}, {"App", role}}
	if r.chance(0.03) {
		name = "Qualys Snapshot Scanner"
		tags = []awsTag{{"Name", name}, {"InstancePurpose", "Scanning"}, {"App", "qualys-snapshot-scanner"}}
	} else {
		if r.chance(0.6) {
			tags = append(tags, awsTag{"Owner", strings.ToLower(strings.ReplaceAll(r.pick(qualysTeams), " ", "-"))})
		}
		if role == "eks-node" {
			tags = append(tags, awsTag{"eks:cluster-name", env + "-cluster"}, awsTag{"aws:autoscaling:groupName", "eks-" + env + "-ng-" + r.hex(8)})
		}
	}

	var launch, created, updated time.Time
	if fresh {
		state = "running"
		launch = now.Add(-r.dur(2*time.Minute, 40*time.Minute))
		created, updated = now, now
	} else {
		updated = r.recentUpdate(g.day0)
		launch = updated.Add(-r.dur(10*time.Minute, 3*365*day))
		created = launch.Add(r.dur(5*time.Minute, 2*time.Hour))
		if onboard := g.day0.Add(-400 * day); created.Before(onboard) {
			created = onboard.Add(r.dur(0, day))
		}
		if created.After(updated) {
			created = updated
		}
	}
	created = created.Truncate(time.Millisecond)
	updated = updated.Truncate(time.Second)

	v := ec2Instance{
		UUID:           nameUUID(g.customerID, TypeEC2Instance, acct.id, reg.name, instanceID),
		ConnectorUUID:  acct.connector,
		ConnectorUUIDs: []string{acct.connector},
		Region:         reg.name, Name: name, CloudType: "AWS",
		CreatedOn:      fmtQualysTime(created),
		Created:        tfmt(created, fmtMilliColon),
		CloudAccountID: acct.id, AccountAlias: acct.alias, Tags: tags, ResourceID: instanceID,
		QualysTags:               json.RawMessage(`[]`),
		IsSnapshotScanEnabled:    r.chance(0.3),
		AccountTags:              acct.tags,
		NotDiscoveredInLast7Days: boolPtr(false),
		InstanceID:               instanceID, InstanceState: state,
		NetworkInterfaceAddresses: []awsNIC{},
		SecurityGroups:            []awsSecurityGroup{},
		ResourceType:              TypeEC2Instance,
		InstanceType:              awsInstanceTypes[r.weighted(awsTypeWeights)],
		AvailabilityZone:          sub.az,
		ImageID:                   "ami-0" + r.hex(16),
		LaunchTime:                fmtQualysTime(launch),
		Updated:                   fmtQualysTime(updated),
	}
	switch r.intn(3) {
	case 0:
		v.RemediationEnabled = boolPtr(r.chance(0.3))
	}
	if r.chance(0.05) {
		v.SpotInstanceRequestID = strPtr("sir-" + r.hex(8))
	}
	if state == "terminated" {
		v.QualysTags = nil
		v.NotDiscoveredInLast7Days = nil
	} else {
		if r.chance(0.04) {
			v.NotDiscoveredInLast7Days = boolPtr(true)
		}
		v.ControlsFailed = []int{0, 0, 1, 2, 3, 5, 8, 13}[r.intn(8)]
		v.Sev3Sev4Sev5VulnCount = []int{0, 0, 0, 2, 5, 11, 23, 47}[r.intn(8)]
		v.VpcID, v.SubnetID = strPtr(reg.vpc), strPtr(sub.id)
		ip := fmt.Sprintf("%s.%d.%d", reg.cidr, r.intn(64), 4+r.intn(250))
		v.PrivateIPAddress = strPtr(ip)
		v.PrivateDNSName = privateDNS(reg.name, ip)
		var groups []awsGroup
		for k := r.between(1, 2); k > 0; k-- {
			sg := reg.sgs[r.intn(len(reg.sgs))]
			dup := false
			for _, have := range v.SecurityGroups {
				dup = dup || have.GroupID == sg.GroupID
			}
			if !dup {
				v.SecurityGroups = append(v.SecurityGroups, sg)
				groups = append(groups, awsGroup{GroupName: sg.GroupName, GroupID: sg.GroupID})
			}
		}
		nic := awsNIC{
			NetworkInterfaceID: "eni-0" + r.hex(16), SubnetID: sub.id, Groups: groups,
			PrivateDNSName: v.PrivateDNSName, PrivateIPAddress: ip, SecondaryPrivateIP: []string{}, IPv6IP: []string{},
		}
		if state == "running" && r.chance(0.6) {
			pub := r.publicIP()
			v.PublicIPAddress = strPtr(pub)
			v.PublicDNSName = publicDNS(reg.name, pub)
			nic.PublicIP = strPtr(pub)
			if r.chance(0.15) {
				v.ElasticIPAddress = strPtr(pub)
			}
		}
		v.NetworkInterfaceAddresses = append(v.NetworkInterfaceAddresses, nic)
	}
	return ec2Entry(&v)
}

// setTag sets key to value, in place when the tag exists.
func setTag(tags []awsTag, key, value string) []awsTag {
	for i := range tags {
		if tags[i].Key == key {
			tags[i].Value = value
			return tags
		}
	}
	return append(tags, awsTag{key, value})
}

func ec2Entry(v *ec2Instance) *entry {
	raw := marshalRecord(v)
	return &entry{id: v.UUID, raw: raw, updated: recordUpdated(raw), acct: v.CloudAccountID}
}

// changeInstance applies a change seen at now to an EC2 record.
func changeInstance(raw []byte, r *rng, now time.Time) *entry {
	var v ec2Instance
	if err := json.Unmarshal(raw, &v); err != nil {
		panic("sim: decode own record: " + err.Error())
	}
	switch {
	case v.InstanceState == "running" && r.chance(0.5):
		v.InstanceState = "stopped"
		v.PublicIPAddress, v.PublicDNSName, v.ElasticIPAddress = nil, "", nil
		for k := range v.NetworkInterfaceAddresses {
			v.NetworkInterfaceAddresses[k].PublicIP = nil
		}
	case v.InstanceState == "stopped":
		v.InstanceState = "running"
		v.LaunchTime = fmtQualysTime(now.Add(-r.dur(time.Minute, 30*time.Minute)))
		if r.chance(0.5) && len(v.NetworkInterfaceAddresses) > 0 {
			pub := r.publicIP()
			v.PublicIPAddress = strPtr(pub)
			v.PublicDNSName = publicDNS(v.Region, pub)
			v.NetworkInterfaceAddresses[0].PublicIP = strPtr(pub)
		}
	default:
		v.ControlsFailed = r.intn(10)
		v.Tags = setTag(v.Tags, "LastReviewed", now.UTC().Format("2006-01-02"))
	}
	if v.InstanceState != "terminated" {
		v.NotDiscoveredInLast7Days = boolPtr(false)
	}
	v.Updated = fmtQualysTime(now)
	return ec2Entry(&v)
}
