/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name> …` runs some. Each prints a
 * table of ours against a baseline measured in the same run. Needs PostgreSQL and Redis
 * (`bash scripts/services.sh`).
 */
import { cpus, totalmem } from 'node:os';
import { expiryBench } from './expiry.js';
import { freezeBench } from './freeze.js';
import { idleRssBench } from './idle-rss.js';
import { lifecyclesBench } from './lifecycles.js';
import { slackAckBench } from './slack-ack.js';
import { type BenchResult, printResult } from './stats.js';

const benches: Record<string, () => Promise<BenchResult>> = {
  'slack-ack': slackAckBench,
  expiry: expiryBench,
  freeze: freezeBench,
  lifecycles: lifecyclesBench,
  'idle-rss': idleRssBench,
};

async function main(): Promise<number> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(name in benches));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}`);
    return 2;
  }
  const names = asked.length > 0 ? asked : Object.keys(benches);
  console.log(
    `# jit-bot benchmarks — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
  );
  let missed = 0;
  for (const name of names) {
    const started = performance.now();
    const result = await (benches[name] as () => Promise<BenchResult>)();
    printResult(result);
    console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
    missed += result.rows.filter((row) => row.met === false).length;
  }
  console.log(missed === 0 ? '\nEvery goal met.' : `\n${missed} goal(s) missed.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
