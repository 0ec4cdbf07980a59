import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/**
 * The local MariaDB from scripts/services.sh (or `TEST_MYSQL_URL`): an all-privileges user for
 * setting up accounts and roles, and the low-privilege account the mysql provider logs in as.
 * Accounts and roles are server-wide, so every test names its own with a random suffix.
 */

export function mysqlAdminUrl(): string {
  return process.env.TEST_MYSQL_URL ?? 'mysql://jit:jit@127.0.0.1:3306/';
}

export function mysqlGranterUrl(): string {
  return process.env.TEST_MYSQL_GRANTER_URL ?? 'mysql://jit_granter:jit_granter@127.0.0.1:3306/';
}

/** Where the provider's account connects from, as the server sees it: `'jit_granter'@'%'`. */
export const GRANTER_ACCOUNT = "'jit_granter'@'%'";

export interface MysqlFixture {
  suffix: string;
  admin: mysql.Connection;
  /** Creates a role the provider may hand out (ADMIN OPTION for the granter). */
  role(name: string, options?: { grantable?: boolean }): Promise<string>;
  /** Creates `'name_suffix'@'%'` with a password, plus extra clauses (`WITH GRANT OPTION`…). */
  user(name: string, options?: { privileges?: string }): Promise<{ user: string; password: string }>;
  /** Opens a connection as a created user. */
  connectAs(user: string, password: string): Promise<mysql.Connection>;
  /** Whether the account holds the role, asked of the grant tables directly. */
  holds(user: string, role: string): Promise<boolean>;
  /** Connection ids of the user still in the process list. */
  sessionsOf(user: string): Promise<number[]>;
  drop(): Promise<void>;
}

export async function mysqlFixture(): Promise<MysqlFixture> {
  const suffix = randomBytes(4).toString('hex');
  const admin = await mysql.createConnection({ uri: mysqlAdminUrl() });
  const users: string[] = [];
  const roles: string[] = [];
  return {
    suffix,
    admin,
    async role(name, options = {}) {
      const role = `${name}_${suffix}`;
      roles.push(role);
      await admin.query(`CREATE ROLE ${admin.escapeId(role)}`);
      await admin.query(`GRANT SELECT ON mysql.db TO ${admin.escapeId(role)}`);
      if (options.grantable ?? true) {
        await admin.query(`GRANT ${admin.escapeId(role)} TO ${GRANTER_ACCOUNT} WITH ADMIN OPTION`);
      }
      return role;
    },
    async user(name, options = {}) {
      const user = `${name}_${suffix}`;
      const password = `pw_${suffix}`;
      users.push(user);
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      if (options.privileges) await admin.query(`GRANT ${options.privileges} TO ?@?`, [user, '%']);
      return { user, password };
    },
    async connectAs(user, password) {
      const url = new URL(mysqlAdminUrl());
      return mysql.createConnection({
        host: url.hostname,
        port: Number(url.port || 3306),
        user,
        password,
      });
    },
    async holds(user, role) {
      const [rows] = await admin.query(
        'SELECT 1 FROM mysql.roles_mapping WHERE User = ? AND Host = ? AND Role = ?',
        [user, '%', role],
      );
      return (rows as unknown[]).length > 0;
    },
    async sessionsOf(user) {
      const [rows] = await admin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [
        user,
      ]);
      return (rows as { id: number }[]).map((row) => Number(row.id));
    },
    async drop() {
      for (const user of users) await admin.query('DROP USER IF EXISTS ?@?', [user, '%']);
      for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${admin.escapeId(role)}`);
      await admin.end();
    },
  };
}
