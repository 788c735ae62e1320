package sim

import "strings"

// builtInRole is an Azure built-in role definition (the same in every
// subscription).
type builtInRole struct {
	name, guid, description          string
	actions, notActions, dataActions []string
}

// builtInRoles is the catalog of built-in roles: the well-known ones with
// their real ids first, then roles per service in Azure's naming style,
// enough to fill the 7,515 role definitions of 15 subscriptions (about 500
// per subscription, as in a real tenant).
var builtInRoles = buildRoleCatalog()

func buildRoleCatalog() []builtInRole {
	roles := []builtInRole{
		{"Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
			[]string{"*"}, []string{}, []string{}},
		{"Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
			[]string{"*"}, []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete"}, []string{}},
		{"Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "View all resources, but does not allow you to make any changes.",
			[]string{"*/read"}, []string{}, []string{}},
		{"User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "Lets you manage user access to Azure resources.",
			[]string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}, []string{}, []string{}},
		{"Role Based Access Control Administrator", "f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
			[]string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"}, []string{}, []string{}},
		{"Virtual Machine Contributor", "9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Create and manage virtual machines, manage disks, install and run software, reset password of the root user of the virtual machine using VM extensions, and manage local user accounts using VM extensions.",
			[]string{"Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/disks/*", "Microsoft.Network/networkInterfaces/*", "Microsoft.Resources/subscriptions/resourceGroups/read"}, []string{}, []string{}},
		{"Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7", "Lets you manage networks, but not access to them.",
			[]string{"Microsoft.Authorization/*/read", "Microsoft.Network/*", "Microsoft.Resources/deployments/*", "Microsoft.Support/*"}, []string{}, []string{}},
		{"Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Provides full access to Azure Storage blob containers and data, including assigning POSIX access control.",
			[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/*"}, []string{}, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"}},
		{"Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Read, write, and delete Azure Storage containers and blobs.",
			[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/containers/write"},
			[]string{}, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"}},
		{"Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Read and list Azure Storage containers and blobs.",
			[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/read"}, []string{}, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}},
		{"Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483", "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets.",
			[]string{"Microsoft.Authorization/*/read", "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/vaults/*/read"}, []string{}, []string{"Microsoft.KeyVault/vaults/*"}},
		{"Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", "Read secret contents.",
			[]string{}, []string{}, []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}},
		{"Monitoring Reader", "43d0d8ad-25c7-4714-9337-8ba259a9fe05", "Can read all monitoring data (metrics, logs, etc.).",
			[]string{"*/read", "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"}, []string{}, []string{}},
		{"Security Reader", "39bc4728-0917-49c7-9d2c-d95423bc2eb4", "View permissions for Microsoft Defender for Cloud.",
			[]string{"Microsoft.Authorization/*/read", "Microsoft.Security/*/read", "Microsoft.Support/*/read"}, []string{}, []string{}},
		{"AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", "Pull artifacts from a container registry.",
			[]string{"Microsoft.ContainerRegistry/registries/pull/read"}, []string{}, []string{}},
	}
	seen := map[string]bool{}
	for _, r := range roles {
		seen[r.name] = true
	}
	services := []struct{ name, ns string }{
		{"Virtual Machine", "Microsoft.Compute/virtualMachines"}, {"Disk", "Microsoft.Compute/disks"},
		{"Snapshot", "Microsoft.Compute/snapshots"}, {"Virtual Machine Scale Set", "Microsoft.Compute/virtualMachineScaleSets"},
		{"Image Gallery", "Microsoft.Compute/galleries"}, {"Storage Account", "Microsoft.Storage/storageAccounts"},
		{"Storage Queue Data", "Microsoft.Storage/storageAccounts/queueServices"}, {"Storage Table Data", "Microsoft.Storage/storageAccounts/tableServices"},
		{"Storage File Data", "Microsoft.Storage/storageAccounts/fileServices"}, {"Key Vault", "Microsoft.KeyVault/vaults"},
		{"Key Vault Certificates", "Microsoft.KeyVault/vaults/certificates"}, {"Key Vault Crypto", "Microsoft.KeyVault/vaults/keys"},
		{"SQL Server", "Microsoft.Sql/servers"}, {"SQL Database", "Microsoft.Sql/servers/databases"},
		{"SQL Managed Instance", "Microsoft.Sql/managedInstances"}, {"Cosmos DB Account", "Microsoft.DocumentDB/databaseAccounts"},
		{"Cosmos DB Operator", "Microsoft.DocumentDB/databaseAccounts/sqlDatabases"}, {"PostgreSQL Flexible Server", "Microsoft.DBforPostgreSQL/flexibleServers"},
		{"MySQL Flexible Server", "Microsoft.DBforMySQL/flexibleServers"}, {"Redis Cache", "Microsoft.Cache/redis"},
		{"Website", "Microsoft.Web/sites"}, {"Web Plan", "Microsoft.Web/serverFarms"}, {"Logic App", "Microsoft.Logic/workflows"},
		{"Azure Functions", "Microsoft.Web/sites/functions"}, {"Azure Kubernetes Service", "Microsoft.ContainerService/managedClusters"},
		{"Azure Kubernetes Service RBAC", "Microsoft.ContainerService/managedClusters/namespaces"}, {"Container Registry", "Microsoft.ContainerRegistry/registries"},
		{"Container Apps", "Microsoft.App/containerApps"}, {"Container Instances", "Microsoft.ContainerInstance/containerGroups"},
		{"Network Security Group", "Microsoft.Network/networkSecurityGroups"}, {"Virtual Network", "Microsoft.Network/virtualNetworks"},
		{"Private DNS Zone", "Microsoft.Network/privateDnsZones"}, {"DNS Zone", "Microsoft.Network/dnsZones"},
		{"Load Balancer", "Microsoft.Network/loadBalancers"}, {"Application Gateway", "Microsoft.Network/applicationGateways"},
		{"Front Door", "Microsoft.Cdn/profiles"}, {"Traffic Manager", "Microsoft.Network/trafficManagerProfiles"},
		{"Firewall", "Microsoft.Network/azureFirewalls"}, {"Firewall Policy", "Microsoft.Network/firewallPolicies"},
		{"VPN Gateway", "Microsoft.Network/virtualNetworkGateways"}, {"ExpressRoute", "Microsoft.Network/expressRouteCircuits"},
		{"Bastion", "Microsoft.Network/bastionHosts"}, {"Private Endpoint", "Microsoft.Network/privateEndpoints"},
		{"Public IP", "Microsoft.Network/publicIPAddresses"}, {"Network Watcher", "Microsoft.Network/networkWatchers"},
		{"Log Analytics", "Microsoft.OperationalInsights/workspaces"}, {"Monitoring Metrics", "Microsoft.Insights/metrics"},
		{"Application Insights Component", "Microsoft.Insights/components"}, {"Workbook", "Microsoft.Insights/workbooks"},
		{"Alert Rule", "Microsoft.Insights/alertRules"}, {"Action Group", "Microsoft.Insights/actionGroups"},
		{"Data Collection Rule", "Microsoft.Insights/dataCollectionRules"}, {"Automation", "Microsoft.Automation/automationAccounts"},
		{"Backup", "Microsoft.RecoveryServices/vaults/backupFabrics"}, {"Site Recovery", "Microsoft.RecoveryServices/vaults/replicationFabrics"},
		{"Data Protection Backup Vault", "Microsoft.DataProtection/backupVaults"}, {"Event Hubs Data", "Microsoft.EventHub/namespaces"},
		{"Service Bus Data", "Microsoft.ServiceBus/namespaces"}, {"Event Grid", "Microsoft.EventGrid/topics"},
		{"Event Grid Data", "Microsoft.EventGrid/domains"}, {"API Management Service", "Microsoft.ApiManagement/service"},
		{"Data Factory", "Microsoft.DataFactory/factories"}, {"Synapse", "Microsoft.Synapse/workspaces"},
		{"Databricks", "Microsoft.Databricks/workspaces"}, {"Data Lake Analytics", "Microsoft.DataLakeAnalytics/accounts"},
		{"HDInsight Cluster", "Microsoft.HDInsight/clusters"}, {"Stream Analytics", "Microsoft.StreamAnalytics/streamingjobs"},
		{"Cognitive Services", "Microsoft.CognitiveServices/accounts"}, {"Cognitive Services OpenAI", "Microsoft.CognitiveServices/accounts/OpenAI"},
		{"Azure AI", "Microsoft.MachineLearningServices/workspaces"}, {"Search Service", "Microsoft.Search/searchServices"},
		{"Search Index Data", "Microsoft.Search/searchServices/indexes"}, {"IoT Hub Data", "Microsoft.Devices/IotHubs"},
		{"Digital Twins Data", "Microsoft.DigitalTwins/digitalTwinsInstances"}, {"Maps Data", "Microsoft.Maps/accounts"},
		{"SignalR", "Microsoft.SignalRService/SignalR"}, {"Web PubSub Service", "Microsoft.SignalRService/WebPubSub"},
		{"App Configuration Data", "Microsoft.AppConfiguration/configurationStores"}, {"Managed Identity", "Microsoft.ManagedIdentity/userAssignedIdentities"},
		{"Policy Insights Data", "Microsoft.PolicyInsights/policyStates"}, {"Resource Policy", "Microsoft.Authorization/policyAssignments"},
		{"Blueprint", "Microsoft.Blueprint/blueprints"}, {"Template Spec", "Microsoft.Resources/templateSpecs"},
		{"Deployment Stack", "Microsoft.Resources/deploymentStacks"}, {"Managed Application", "Microsoft.Solutions/applications"},
		{"Tag", "Microsoft.Resources/tags"}, {"Cost Management", "Microsoft.CostManagement/exports"},
		{"Billing", "Microsoft.Billing/billingAccounts"}, {"Support Request", "Microsoft.Support/supportTickets"},
		{"Security Admin", "Microsoft.Security/policies"}, {"Security Assessment", "Microsoft.Security/assessments"},
		{"Microsoft Sentinel", "Microsoft.SecurityInsights/incidents"}, {"Attestation", "Microsoft.Attestation/attestationProviders"},
		{"Azure Arc Kubernetes", "Microsoft.Kubernetes/connectedClusters"}, {"Azure Connected Machine", "Microsoft.HybridCompute/machines"},
		{"Azure Stack HCI", "Microsoft.AzureStackHCI/clusters"}, {"Azure VMware Solution", "Microsoft.AVS/privateClouds"},
		{"Lab Services", "Microsoft.LabServices/labs"}, {"DevTest Labs", "Microsoft.DevTestLab/labs"},
		{"Dev Center", "Microsoft.DevCenter/devcenters"}, {"Load Testing", "Microsoft.LoadTestService/loadTests"},
		{"Chaos Studio Experiment", "Microsoft.Chaos/experiments"}, {"Grafana", "Microsoft.Dashboard/grafana"},
		{"Purview Data Curator", "Microsoft.Purview/accounts"}, {"Media Services", "Microsoft.Media/mediaservices"},
		{"Communication Services", "Microsoft.Communication/communicationServices"}, {"Batch Account", "Microsoft.Batch/batchAccounts"},
		{"Spring Apps", "Microsoft.AppPlatform/Spring"}, {"Static Web Apps", "Microsoft.Web/staticSites"},
		{"Notification Hubs", "Microsoft.NotificationHubs/namespaces"}, {"Relay", "Microsoft.Relay/namespaces"},
		{"Health Data Services", "Microsoft.HealthcareApis/workspaces"}, {"Elastic SAN", "Microsoft.ElasticSan/elasticSans"},
		{"NetApp Files", "Microsoft.NetApp/netAppAccounts"}, {"Managed Lustre", "Microsoft.StorageCache/amlFilesystems"},
		{"Confidential Ledger", "Microsoft.ConfidentialLedger/ledgers"}, {"Managed HSM", "Microsoft.KeyVault/managedHSMs"},
		{"Quantum Workspace", "Microsoft.Quantum/Workspaces"}, {"Update Manager", "Microsoft.Maintenance/maintenanceConfigurations"},
		{"Guest Configuration", "Microsoft.GuestConfiguration/guestConfigurationAssignments"}, {"Scheduled Patching", "Microsoft.Maintenance/configurationAssignments"},
	}
	kinds := []struct {
		suffix, what string
		actions      func(ns string) []string
		data         func(ns string) []string
	}{
		{"Contributor", "Lets you manage %s resources, but not access to them.",
			func(ns string) []string {
				return []string{"Microsoft.Authorization/*/read", ns + "/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}
			}, nil},
		{"Reader", "Lets you view %s resources, but not change them.",
			func(ns string) []string {
				return []string{ns + "/read", "Microsoft.Resources/subscriptions/resourceGroups/read"}
			}, nil},
		{"Operator", "Lets you operate %s resources: start, stop and restart them.",
			func(ns string) []string { return []string{ns + "/read", ns + "/start/action", ns + "/restart/action"} }, nil},
		{"Administrator", "Full management of %s resources, including their access policies.",
			func(ns string) []string { return []string{ns + "/*", "Microsoft.Authorization/*/read"} }, nil},
		{"Data Reader", "Allows read access to %s data.",
			func(ns string) []string { return []string{ns + "/read"} },
			func(ns string) []string { return []string{ns + "/data/read"} }},
		{"Data Contributor", "Allows full access to %s data.",
			func(ns string) []string { return []string{ns + "/read"} },
			func(ns string) []string { return []string{ns + "/data/*"} }},
	}
	for _, k := range kinds {
		for _, s := range services {
			name := s.name + " " + k.suffix
			if seen[name] {
				continue
			}
			seen[name] = true
			data := []string{}
			if k.data != nil {
				data = k.data(s.ns)
			}
			roles = append(roles, builtInRole{
				name: name, guid: v4From(nameUUID("azure-built-in-role", name)),
				description: strings.Replace(k.what, "%s", s.name, 1),
				actions:     k.actions(s.ns), notActions: []string{}, dataActions: data,
			})
		}
	}
	return roles
}

// v4From turns a name-based UUID into a version-4-looking one (built-in
// role ids are random UUIDs).
func v4From(u string) string { return u[:14] + "4" + u[15:] }
