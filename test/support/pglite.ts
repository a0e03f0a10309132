/**
 * A real PostgreSQL protocol for tests: PGlite (Postgres compiled to WebAssembly) with pgvector,
 * served on a free loopback port by pglite-socket, reached through `pg` like any server.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A running PGlite server. */
export interface PgliteServer {
  /** The database, for direct queries by the test. */
  readonly db: PGlite;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Stop serving and close the database. */
  stop(): Promise<void>;
}

/**
 * Start PGlite with pgvector on a free loopback port.
 * @param password - put in the URL (PGlite accepts any): tests check it never shows in messages.
 */
export async function startPglite(password = 'secret-pw'): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 32 });
  await server.start();
  return {
    db,
    url: `postgres://postgres:${password}@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
