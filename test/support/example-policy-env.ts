/** The variables jit.config.example.yaml refers to, with values that pass its checks. */
export const examplePolicyEnv = {
  PROD_DB_ADMIN_URL: 'postgresql://jit_admin:pw@prod-db:5432/app',
  VPN_HOOK_URL: 'https://vpn.corp.example/jit',
  VPN_HOOK_SECRET: 'a-secret-of-sixteen-or-more',
  GITHUB_TOKEN: 'ghp_example',
  ANALYTICS_DB_URL: 'mysql://jit_granter:pw@analytics-db:3306/',
};
