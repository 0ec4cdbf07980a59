/**
 * SPEC's example policy file, with only the providers that exist here (postgres), as YAML text.
 * Resources is its last key, so a test can append a resource by appending text.
 */
export const specExamplePolicy = `
timezone: Europe/Berlin
securityChannel: C0SECURITY
admins:
  users: [U0SEC1]
  groups: [S0SECTEAM]
businessHours: { days: [mon, tue, wed, thu, fri], from: "08:00", to: "19:00" }
identity: { emailDomains: [example.com] }

providers:
  proddb:
    type: postgres
    url: \${PROD_DB_ADMIN_URL}

resources:
  prod-db-write:
    description: Write access to the production database
    provider: proddb
    grant: { role: prod_write }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { groups: [S0DBA] }
        count: 1
      - from: { users: [U0CTO] }
        count: 1
    autoApprove:
      - requesterIn: { groups: [S0ONCALL] }
        maxDuration: 30m
        businessHoursOnly: true
    optOut:
      outsideBusinessHours: review
      guests: deny
      maxRequestsPerHour: 3
`;
