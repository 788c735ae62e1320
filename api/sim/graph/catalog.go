package graphsim

// Static catalogs the generator draws from. Role and permission names are
// Microsoft's; the ids marked known are Microsoft's published ids, the
// others are generated deterministically.

var firstNames = []string{
	"Adele", "Alex", "Allan", "Amara", "Ana", "Anders", "Andre", "Anika", "Ava", "Ben", "Bianca", "Boris",
	"Carla", "Chen", "Chloe", "Christie", "Daniel", "Daria", "David", "Diego", "Elena", "Elif", "Emil",
	"Emma", "Enrico", "Eva", "Fatima", "Felix", "Fiona", "Grady", "Hana", "Hannah", "Henrietta", "Hugo",
	"Ines", "Irvin", "Isaac", "Isabel", "Ivan", "Jana", "Javier", "Johanna", "Joni", "Jonas", "Jorge",
	"Karin", "Kenji", "Lara", "Lee", "Leila", "Lena", "Lidia", "Lucas", "Luis", "Lynne", "Maja", "Marco",
	"Maria", "Megan", "Mei", "Miriam", "Mohammed", "Nadia", "Nestor", "Nikolai", "Noah", "Nora", "Olga",
	"Omar", "Oscar", "Patti", "Paula", "Pedro", "Pradeep", "Priya", "Rahul", "Raquel", "Ravi", "Rosa",
	"Sakura", "Samir", "Sara", "Sebastian", "Selin", "Sofia", "Stefan", "Sven", "Tariq", "Teresa", "Thomas",
	"Tomas", "Valentina", "Victor", "Wei", "Yara", "Yusuf", "Zara", "Zoe", "Aiko", "Bjorn", "Camille",
	"Dmitri", "Esther", "Farah", "Goran", "Helga", "Ingrid", "Jamal", "Kofi", "Linnea", "Mateo", "Nia",
}

var lastNames = []string{
	"Adams", "Ahmed", "Alvarez", "Andersen", "Bauer", "Becker", "Bell", "Brown", "Campbell", "Castro",
	"Chen", "Costa", "Cruz", "Dahl", "Diaz", "Dubois", "Eriksson", "Evans", "Fischer", "Fontaine", "Garcia",
	"Gomez", "Gupta", "Hansen", "Hartmann", "Hernandez", "Hoffmann", "Holm", "Ibrahim", "Ito", "Jensen",
	"Johansson", "Jones", "Kaur", "Khan", "Kim", "Klein", "Koch", "Kowalski", "Kumar", "Larsen", "Laurent",
	"Lee", "Lindqvist", "Lopez", "Martin", "Martinez", "Meyer", "Mishra", "Moreau", "Moreno", "Muller",
	"Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "O'Brien", "Olsen", "Patel", "Perez", "Petrov",
	"Popescu", "Rao", "Reyes", "Richter", "Rossi", "Russo", "Sanchez", "Sato", "Schmidt", "Schneider",
	"Silva", "Singh", "Smith", "Sousa", "Suzuki", "Tanaka", "Taylor", "Thomas", "Torres", "Vasquez",
	"Vogel", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Wolf", "Wong", "Yamamoto", "Yilmaz",
	"Young", "Zhang", "Zimmermann", "Okafor", "Mensah", "Haddad", "Farouk", "Lindgren", "Berg",
}

var departments = []string{
	"Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Operations", "IT",
	"Customer Success", "Research", "Product Management", "Security", "Procurement", "Facilities",
	"Support", "Manufacturing", "Logistics", "Executive",
}

var jobTitles = []string{
	"Software Engineer", "Senior Software Engineer", "Engineering Manager", "Account Executive",
	"Sales Manager", "Marketing Specialist", "Financial Analyst", "Accountant", "HR Business Partner",
	"Recruiter", "Counsel", "Operations Manager", "IT Administrator", "Systems Engineer",
	"Customer Success Manager", "Research Scientist", "Product Manager", "Security Analyst",
	"Buyer", "Facilities Coordinator", "Support Engineer", "Production Supervisor", "Logistics Planner",
	"Director", "Vice President", "Data Analyst", "Designer", "Project Manager", "Consultant", "Intern",
}

type place struct{ city, state, country, cc, postal, street, office string }

var places = []place{
	{"Redmond", "WA", "United States", "US", "98052", "One Microsoft Way", "18/2111"},
	{"Seattle", "WA", "United States", "US", "98101", "1200 4th Ave", "SEA-4"},
	{"New York", "NY", "United States", "US", "10001", "11 Times Square", "NYC-21"},
	{"Austin", "TX", "United States", "US", "78701", "300 W 6th St", "AUS-3"},
	{"Toronto", "ON", "Canada", "CA", "M5H 2N2", "81 Bay St", "TOR-12"},
	{"London", "", "United Kingdom", "GB", "EC2V 7HH", "2 Kingdom St", "LON-5"},
	{"Dublin", "", "Ireland", "IE", "D18 P521", "South County Business Park", "DUB-1"},
	{"Berlin", "", "Germany", "DE", "10117", "Unter den Linden 17", "BER-2"},
	{"Munich", "BY", "Germany", "DE", "80807", "Walter-Gropius-Str. 5", "MUC-7"},
	{"Paris", "", "France", "FR", "92130", "39 Quai du President Roosevelt", "PAR-9"},
	{"Amsterdam", "", "Netherlands", "NL", "1082 MS", "Evert van de Beekstraat 354", "AMS-4"},
	{"Stockholm", "", "Sweden", "SE", "111 57", "Regeringsgatan 25", "STO-3"},
	{"Warsaw", "", "Poland", "PL", "00-120", "Zlota 59", "WAW-6"},
	{"Bengaluru", "KA", "India", "IN", "560071", "Embassy Golf Links", "BLR-14"},
	{"Pune", "MH", "India", "IN", "411014", "Kharadi", "PNQ-2"},
	{"Singapore", "", "Singapore", "SG", "018983", "182 Cecil St", "SIN-8"},
	{"Tokyo", "", "Japan", "JP", "108-0075", "2-16-3 Konan", "TYO-11"},
	{"Sydney", "NSW", "Australia", "AU", "2000", "1 Epping Rd", "SYD-3"},
	{"Sao Paulo", "SP", "Brazil", "BR", "04543-907", "Av. Pres. Juscelino Kubitschek", "SAO-5"},
	{"Dubai", "", "United Arab Emirates", "AE", "00000", "Dubai Internet City", "DXB-1"},
}

var partnerDomains = []string{
	"contoso-partners.com", "fabrikam.com", "northwindtraders.com", "adventure-works.com", "tailspintoys.com",
	"wingtiptoys.com", "litwareinc.com", "proseware.com", "woodgrovebank.com", "alpineskihouse.com",
	"gmail.com", "outlook.com",
}

var groupTopics = []string{
	"Engineering", "Sales", "Marketing", "Finance", "HR", "Legal", "Operations", "IT", "Support", "Research",
	"Product", "Security", "Procurement", "Facilities", "Design", "Data", "Platform", "Cloud", "Mobile",
	"Web", "Payments", "Identity", "Compliance", "Audit", "Analytics", "Partners", "Events", "Training",
	"Benefits", "Recruiting", "Onboarding", "Leadership", "Board", "Interns", "Contractors", "Vendors",
}

var groupSuffixes = []string{
	"Team", "All", "Managers", "Leads", "Project", "Readers", "Admins", "Contributors", "Owners", "Members",
	"Guild", "Council", "Working Group", "Champions", "On-Call", "Distribution", "Access", "Users",
}

// graphPermission is a Microsoft Graph application permission (an app role
// of the Microsoft Graph service principal).
type graphPermission struct {
	value, id string // id "" → generated
	display   string
}

// graphPermissions are the application permissions the simulator knows;
// the first ones are those Qualys's Entra ID connectors document.
var graphPermissions = []graphPermission{
	{"User.Read.All", "df021288-bdef-4463-88db-98f22de89214", "Read all users' full profiles"},
	{"GroupMember.Read.All", "98830695-27a2-44f7-8c18-0c3ebc9698f6", "Read all group memberships"},
	{"Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Read directory data"},
	{"RoleManagement.Read.Directory", "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", "Read all directory RBAC settings"},
	{"RoleEligibilitySchedule.Read.Directory", "", "Read all eligible role assignments for your company's directory"},
	{"Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68", "Read your organization's policies"},
	{"Device.Read.All", "7438b122-aefc-4978-80ed-43db9fcc7715", "Read all devices"},
	{"Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Read all applications"},
	{"Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b", "Read all groups"},
	{"Organization.Read.All", "498476ce-e0fe-48b0-b801-37ba7e2685c6", "Read organization information"},
	{"AuditLog.Read.All", "b0afded3-3588-46d8-8b3d-9842eff778da", "Read all audit log data"},
	{"User.ReadBasic.All", "", "Read all users' basic profiles"},
	{"User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca", "Read and write all users' full profiles"},
	{"Group.ReadWrite.All", "62a82d76-70ea-41e2-9197-370581804d09", "Read and write all groups"},
	{"GroupMember.ReadWrite.All", "", "Read and write all group memberships"},
	{"Directory.ReadWrite.All", "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Read and write directory data"},
	{"Device.ReadWrite.All", "", "Read and write devices"},
	{"Application.ReadWrite.All", "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Read and write all applications"},
	{"Application.ReadWrite.OwnedBy", "", "Manage apps that this app creates or owns"},
	{"AppRoleAssignment.ReadWrite.All", "06b708a9-e830-4db3-a914-8e69da51d44f", "Manage app permission grants and app role assignments"},
	{"RoleManagement.Read.All", "", "Read role management data for all RBAC providers"},
	{"RoleManagement.ReadWrite.Directory", "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "Read and write all directory RBAC settings"},
	{"Organization.ReadWrite.All", "", "Read and write organization information"},
	{"Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Read mail in all mailboxes"},
	{"Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96", "Send mail as any user"},
	{"Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338", "Read calendars in all mailboxes"},
	{"Files.Read.All", "01d4889c-1287-42c6-ac1f-5d1e02578ef6", "Read files in all site collections"},
	{"Sites.Read.All", "332a536c-c7ef-4017-ab91-336970924f0d", "Read items in all site collections"},
	{"Reports.Read.All", "230c1aed-a721-4c5d-9cb4-a90514e508ef", "Read all usage reports"},
	{"SecurityEvents.Read.All", "bf394140-e372-4bf9-a898-299cfc7564e5", "Read your organization's security events"},
	{"IdentityRiskyUser.Read.All", "dc5007c0-2d7d-4c42-879c-2dab87571379", "Read all identity risky user information"},
	{"DeviceManagementManagedDevices.Read.All", "2f51be20-0bb4-4fed-bf7b-db946066c75e", "Read Microsoft Intune devices"},
	{"Team.ReadBasic.All", "2280dda6-0bfd-44ee-a2f4-cb867cfc4c1e", "Get a list of all teams"},
	{"Channel.ReadBasic.All", "59a6b24b-4225-4393-8165-ebaec5f55d7a", "Read the names and descriptions of all channels"},
	{"Domain.Read.All", "dbb9058a-0e50-45d7-ae91-66909b5d4664", "Read domains"},
	{"AdministrativeUnit.Read.All", "134fd756-38ce-4afd-ba33-e9623dbe66c2", "Read all administrative units"},
}

// DefaultRoles are the application permissions a default token carries:
// every Microsoft Graph permission Qualys's Entra ID connectors (devices and
// identities) name. User.Read, which seed 003 also lists, is a delegated
// permission and cannot be granted to an app.
var DefaultRoles = []string{
	"User.Read.All", "GroupMember.Read.All", "Directory.Read.All", "RoleManagement.Read.Directory",
	"RoleEligibilitySchedule.Read.Directory", "Policy.Read.All", "Device.Read.All", "Application.Read.All",
}

// builtInRole is a Microsoft Entra built-in role.
type builtInRole struct {
	name, template string // template "" → generated
}

var builtInRoles = []builtInRole{
	{"Global Administrator", "62e90394-69f5-4237-9190-012177145e10"},
	{"Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"},
	{"User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"},
	{"Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d"},
	{"Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"},
	{"Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"},
	{"Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"},
	{"Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7"},
	{"Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814"},
	{"Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
	{"Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"},
	{"SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"},
	{"Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c"},
	{"Intune Administrator", "3a2c62db-5318-420d-8d74-23affee5d9d5"},
	{"Billing Administrator", "b0f54661-2d74-4c50-afa3-1ec803f12efe"},
	{"Conditional Access Administrator", "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"},
	{"Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f"},
	{"Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"},
	{"Directory Writers", "9360feb5-f418-4baa-8175-e2a00bac4301"},
	{"Directory Synchronization Accounts", "d29b2b05-8046-44ba-8758-1e26182fcf32"},
	{"Guest Inviter", "95e79109-95c0-4d8e-aee3-d01accf2d47b"},
	{"Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"},
	{"Teams Administrator", "69091246-20e8-4a56-aa4d-066075b2a7a8"},
	{"Compliance Administrator", "17315797-102d-40b4-93e0-432062caca18"},
	{"Password Administrator", "966707d0-3269-4727-9be2-8c3a10f19b9d"},
	{"License Administrator", "4d6ac14f-3453-41d0-bef9-a3e0c569773a"},
	{"Service Support Administrator", "f023fd81-a637-4b56-95fd-791ac0226033"},
	{"Guest User", "10dae51f-b6af-4016-8d66-8c2a99b929b3"},
	{"User", "a0b1b346-4d3e-4e8b-98f8-753987be4970"},
	{"Restricted Guest User", "2af84b1e-32c8-42b7-82bc-daa82404023b"},
	{"Application Developer", ""}, {"Attack Payload Author", ""}, {"Attack Simulation Administrator", ""},
	{"Attribute Assignment Administrator", ""}, {"Attribute Assignment Reader", ""},
	{"Attribute Definition Administrator", ""}, {"Attribute Definition Reader", ""},
	{"Attribute Log Administrator", ""}, {"Attribute Log Reader", ""},
	{"Authentication Extensibility Administrator", ""}, {"Authentication Policy Administrator", ""},
	{"Azure DevOps Administrator", ""}, {"Azure Information Protection Administrator", ""},
	{"B2C IEF Keyset Administrator", ""}, {"B2C IEF Policy Administrator", ""},
	{"Cloud App Security Administrator", ""}, {"Cloud Device Administrator", ""},
	{"Compliance Data Administrator", ""}, {"Customer LockBox Access Approver", ""},
	{"Desktop Analytics Administrator", ""}, {"Domain Name Administrator", ""},
	{"Dynamics 365 Administrator", ""}, {"Dynamics 365 Business Central Administrator", ""},
	{"Edge Administrator", ""}, {"Exchange Recipient Administrator", ""},
	{"External ID User Flow Administrator", ""}, {"External ID User Flow Attribute Administrator", ""},
	{"External Identity Provider Administrator", ""}, {"Fabric Administrator", ""},
	{"Global Secure Access Administrator", ""}, {"Hybrid Identity Administrator", ""},
	{"Identity Governance Administrator", ""}, {"Insights Administrator", ""}, {"Insights Analyst", ""},
	{"Insights Business Leader", ""}, {"Kaizala Administrator", ""}, {"Knowledge Administrator", ""},
	{"Knowledge Manager", ""}, {"Lifecycle Workflows Administrator", ""},
	{"Message Center Privacy Reader", ""}, {"Message Center Reader", ""},
	{"Microsoft 365 Migration Administrator", ""}, {"Microsoft Entra Joined Device Local Administrator", ""},
	{"Microsoft Hardware Warranty Administrator", ""}, {"Microsoft Hardware Warranty Specialist", ""},
	{"Modern Commerce Administrator", ""}, {"Network Administrator", ""}, {"Office Apps Administrator", ""},
	{"Organizational Messages Writer", ""}, {"Partner Tier1 Support", ""}, {"Partner Tier2 Support", ""},
	{"Permissions Management Administrator", ""}, {"Power Platform Administrator", ""},
	{"Printer Administrator", ""}, {"Printer Technician", ""}, {"Search Administrator", ""},
	{"Search Editor", ""}, {"Security Operator", ""}, {"SharePoint Embedded Administrator", ""},
	{"Skype for Business Administrator", ""}, {"Teams Communications Administrator", ""},
	{"Teams Communications Support Engineer", ""}, {"Teams Communications Support Specialist", ""},
	{"Teams Devices Administrator", ""}, {"Teams Telephony Administrator", ""}, {"Tenant Creator", ""},
	{"Usage Summary Reports Reader", ""}, {"User Experience Success Manager", ""},
	{"Virtual Visits Administrator", ""}, {"Viva Goals Administrator", ""}, {"Viva Pulse Administrator", ""},
	{"Windows 365 Administrator", ""}, {"Windows Update Deployment Administrator", ""},
	{"Yammer Administrator", ""}, {"Organizational Branding Administrator", ""},
	{"IoT Device Administrator", ""}, {"Exchange Backup Administrator", ""},
}

// roleActions is the pool rolePermissions draw from.
var roleActions = []string{
	"microsoft.directory/users/standard/read", "microsoft.directory/users/basic/update",
	"microsoft.directory/users/password/update", "microsoft.directory/groups/standard/read",
	"microsoft.directory/groups/members/update", "microsoft.directory/applications/standard/read",
	"microsoft.directory/applications/credentials/update", "microsoft.directory/servicePrincipals/standard/read",
	"microsoft.directory/servicePrincipals/appRoleAssignedTo/update", "microsoft.directory/devices/standard/read",
	"microsoft.directory/devices/disable", "microsoft.directory/roleAssignments/standard/read",
	"microsoft.directory/roleDefinitions/standard/read", "microsoft.directory/auditLogs/allProperties/read",
	"microsoft.directory/signInReports/allProperties/read", "microsoft.directory/conditionalAccessPolicies/standard/read",
	"microsoft.directory/organization/standard/read", "microsoft.directory/domains/standard/read",
	"microsoft.office365.serviceHealth/allEntities/allTasks", "microsoft.office365.supportTickets/allEntities/allTasks",
	"microsoft.azure.serviceHealth/allEntities/allTasks", "microsoft.exchange/allEntities/basic/allTasks",
	"microsoft.sharepoint/allEntities/allTasks", "microsoft.intune/allEntities/allTasks",
	"microsoft.teams/allEntities/allProperties/allTasks", "microsoft.directory/policies/standard/read",
}

// activatedRoles are the directory roles activated in the tenant, most used
// first (Global Administrator is always active).
var activatedRoles = []string{
	"Global Administrator", "Directory Readers", "Global Reader", "User Administrator", "Helpdesk Administrator",
	"Security Administrator", "Security Reader", "Application Administrator", "Exchange Administrator",
	"SharePoint Administrator", "Privileged Role Administrator", "Directory Synchronization Accounts",
	"Cloud Application Administrator", "Intune Administrator", "Conditional Access Administrator",
	"Teams Administrator", "Billing Administrator", "Reports Reader", "Authentication Administrator",
	"Groups Administrator", "License Administrator", "Compliance Administrator", "Password Administrator",
	"Privileged Authentication Administrator", "Guest Inviter", "Directory Writers",
	"Service Support Administrator", "Azure DevOps Administrator", "Power Platform Administrator",
	"Dynamics 365 Administrator", "Hybrid Identity Administrator", "Identity Governance Administrator",
}

// firstPartySP is a Microsoft service principal present in every tenant.
type firstPartySP struct{ name, appID string }

const (
	microsoftTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	graphAppID        = "00000003-0000-0000-c000-000000000000"
)

var firstPartySPs = []firstPartySP{
	{"Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"},
	{"Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"},
	{"Windows Azure Active Directory", "00000002-0000-0000-c000-000000000000"},
	{"Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
	{"Microsoft Teams", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"},
	{"Microsoft Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
	{"Microsoft Azure PowerShell", "1950a258-227b-4e31-a9cf-717495945fc2"},
	{"Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013"},
	{"Office 365 Management APIs", "c5393580-f805-4401-95e8-94b7a6ef2fc2"},
	{"Microsoft Intune", "0000000a-0000-0000-c000-000000000000"},
	{"Microsoft Graph PowerShell", "14d82eec-204b-4c2f-b7e8-296a70dab67e"},
	{"Graph Explorer", "de8bc8b5-d9f9-48b1-a8ad-b748da725064"},
	{"Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c"},
	{"Office 365 Portal", "00000006-0000-0ff1-ce00-000000000000"},
	{"Skype for Business Online", "00000004-0000-0ff1-ce00-000000000000"},
	{"Power BI Service", "00000009-0000-0000-c000-000000000000"},
	{"Microsoft Intune Enrollment", "d4ebce55-015a-49b5-a083-c84d1797ae8c"},
	{"Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"},
}

// firstPartyServices name further Microsoft service principals (large
// tenants hold hundreds of them).
var firstPartyServices = []string{
	"Microsoft Defender for Cloud Apps", "Microsoft Purview", "Microsoft Stream Service", "Microsoft Forms",
	"Microsoft Planner", "Microsoft To-Do", "OneNote", "Yammer", "Microsoft Flow Service", "PowerApps Service",
	"Dynamics 365 Business Central", "Azure DevOps", "Azure Monitor", "Azure Storage", "Azure SQL Database",
	"Azure Kubernetes Service AAD Server", "Azure Container Registry", "Azure Data Factory", "Microsoft Bookings",
	"Microsoft Whiteboard", "Microsoft Approvals", "Microsoft Substrate Management", "Windows Store for Business",
	"Microsoft Device Directory Service", "Microsoft Authenticator App", "Microsoft Edge", "Microsoft Loop",
	"Microsoft Information Protection Sync Service", "Microsoft Exchange Online Protection", "Viva Engage",
	"Microsoft People Cards Service", "Microsoft Teams Services", "Microsoft Mobile Application Management",
	"Windows Update for Business Deployment Service", "Microsoft App Access Panel", "My Apps", "My Profile",
	"Microsoft Invitation Acceptance Portal", "Azure Resource Graph", "Microsoft.Azure.SyncFabric",
}

var thirdPartyApps = []struct{ name, domain, sso string }{
	{"Salesforce", "salesforce.com", "saml"}, {"ServiceNow", "service-now.com", "saml"},
	{"Slack", "slack.com", "saml"}, {"Zoom", "zoom.us", "saml"}, {"Atlassian Cloud", "atlassian.com", "saml"},
	{"Workday", "workday.com", "saml"}, {"Box", "box.com", "saml"}, {"DocuSign", "docusign.net", "saml"},
	{"GitHub Enterprise Cloud", "github.com", "saml"}, {"AWS IAM Identity Center", "amazonaws.com", "saml"},
	{"Google Cloud / G Suite Connector", "google.com", "saml"}, {"Adobe Identity Management", "adobe.com", "saml"},
	{"Dropbox Business", "dropbox.com", "saml"}, {"Cisco Webex", "webex.com", "saml"},
	{"Tableau Cloud", "tableau.com", "saml"}, {"Snowflake", "snowflakecomputing.com", "saml"},
	{"Okta Workforce", "okta.com", "saml"}, {"SAP Concur", "concursolutions.com", "saml"},
	{"Zscaler Internet Access", "zscaler.net", "saml"}, {"Palo Alto Networks GlobalProtect", "paloaltonetworks.com", "saml"},
	{"Qualys Cloud Platform", "qualys.com", "saml"}, {"CrowdStrike Falcon", "crowdstrike.com", "saml"},
	{"Datadog", "datadoghq.com", "saml"}, {"PagerDuty", "pagerduty.com", "saml"}, {"Miro", "miro.com", "saml"},
	{"Figma", "figma.com", "saml"}, {"Asana", "asana.com", "saml"}, {"Jamf Pro", "jamfcloud.com", "saml"},
	{"HubSpot", "hubspot.com", "oidc"}, {"Calendly", "calendly.com", "oidc"}, {"Notion", "notion.so", "oidc"},
	{"Trello", "trello.com", "oidc"}, {"Grammarly", "grammarly.com", "oidc"}, {"Lucidchart", "lucid.co", "oidc"},
}

var ownAppNames = []string{
	"Payroll Portal", "Expense Tracker", "HR Self Service", "Inventory API", "Customer Portal", "Partner Hub",
	"Data Lake Ingest", "Billing Service", "Support Console", "Release Pipeline", "Backup Automation",
	"Monitoring Agent", "Reporting Dashboard", "Mobile App Backend", "Intranet", "Learning Portal",
	"Contract Manager", "Asset Register", "Vendor Onboarding", "Security Scanner", "Log Shipper",
	"Identity Sync", "Chat Bot", "Search Indexer", "Document Signing", "Travel Booking", "Feedback Forms",
	"Cost Explorer", "Ticket Router", "License Tracker",
}

type deviceModel struct {
	os, manufacturer, model string
	versions                []string
}

var deviceModels = []deviceModel{
	{"Windows", "Dell Inc.", "Latitude 7440", []string{"10.0.22631.3447", "10.0.22621.2861", "10.0.19045.4291", "10.0.26100.2033"}},
	{"Windows", "LENOVO", "20XW0026US", []string{"10.0.22631.3880", "10.0.19045.3930", "10.0.22621.3296"}},
	{"Windows", "HP", "HP EliteBook 840 G9", []string{"10.0.22631.4037", "10.0.22621.3155"}},
	{"Windows", "Microsoft Corporation", "Surface Laptop 5", []string{"10.0.22631.3527", "10.0.26100.1742"}},
	{"Windows", "Microsoft Corporation", "Virtual Machine", []string{"10.0.20348.2461", "10.0.17763.5820"}},
	{"iOS", "Apple", "iPhone 15", []string{"17.4.1", "17.5.1", "18.0", "16.7.8"}},
	{"iOS", "Apple", "iPhone 13", []string{"17.2.1", "16.6"}},
	{"IPad", "Apple", "iPad Air (5th generation)", []string{"17.4", "16.7.2"}},
	{"Android", "samsung", "SM-S918B", []string{"14", "13"}},
	{"Android", "Google", "Pixel 8", []string{"14", "15"}},
	{"MacMDM", "Apple", "MacBookPro18,3", []string{"14.4.1", "13.6.6", "15.0"}},
	{"MacMDM", "Apple", "Mac14,2", []string{"14.5", "14.6.1"}},
	{"Linux", "Canonical", "Ubuntu", []string{"22.04", "24.04"}},
}

// regions group the countries of places into the regional administrative
// units.
var regions = []struct {
	name      string
	countries []string
}{
	{"EMEA", []string{"United Kingdom", "Ireland", "Germany", "France", "Netherlands", "Sweden", "Poland", "United Arab Emirates"}},
	{"Americas", []string{"United States", "Canada", "Brazil"}},
	{"APAC", []string{"India", "Singapore", "Japan", "Australia"}},
}

// departmentTopics names the group topic of a department where it differs
// from the department's first word ("" when no group topic matches).
var departmentTopics = map[string]string{
	"Human Resources": "HR", "Product Management": "Product", "Customer Success": "", "Manufacturing": "",
	"Logistics": "", "Executive": "Leadership",
}
