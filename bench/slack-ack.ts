import type { RunningBot } from '../src/bot.js';
import { startBareBolt } from './bare-bolt.js';
import { type BenchWorld, createWorld, requesterId, resourceName, signingSecret } from './bot.js';
import type { BlastResult } from './slack-side.js';
import { type BenchResult, envInt, percentile, type Row, ratio } from './stats.js';

/**
 * Slash-command ack latency: signed `/jit` commands from 50 concurrent senders (in the Slack-side
 * process), time from sending to the HTTP answer (Bolt answers when the listener acks). The bot
 * runs as production does (HTTP mode, PostgreSQL, Redis, every worker); the baseline is a bare
 * Bolt app with the same receiver that only acks. `help` is answered on response_url after the
 * ack; `request …` also writes the request, asks the approver and posts the audit event.
 *
 * Two loads: paced (each sender one command a second: 50 people hammering the command) and
 * saturated (each sender sends the next command as soon as the last was acked: as many as the
 * machine can take, where ack latency is 50 / throughput and so measures the work per command).
 */
export async function slackAckBench(): Promise<BenchResult> {
  const concurrency = envInt('BENCH_ACK_CONCURRENCY', 50);
  const saturatedTotal = envInt('BENCH_ACK_N', 2_000);
  const pacedPerSender = envInt('BENCH_ACK_PACED_PER_SENDER', 20);
  const world = await createWorld({ roles: 1, logins: concurrency });
  try {
    const bot = await world.startBot();
    const bare = await startBareBolt({
      token: world.slack.token,
      signingSecret,
      apiUrl: world.slack.apiUrl,
      port: 0,
    });
    const botUrl = `http://127.0.0.1:${bot.port}/slack/events`;
    const bareUrl = `http://127.0.0.1:${bare.port}/slack/events`;
    const userIds = Array.from({ length: concurrency }, (_, i) => requesterId(i));
    const request = `request ${resourceName(0)} 1h benchmark INC-42`;
    let answersDue = 0;
    const run = async (url: string, text: string, total: number, intervalMs: number) => {
      const result = await world.slack.blast({
        url,
        secret: signingSecret,
        texts: [text],
        userIds,
        total,
        concurrency,
        intervalMs,
      });
      // Let the bot finish the work the commands left (answers, DMs, audit posts) before the next run.
      if (url === botUrl) answersDue += total;
      await settled(world, bot, answersDue);
      return result;
    };

    // Warm both up (JIT, connection pools, caches) before measuring.
    await run(bareUrl, 'help', 500, 0);
    await run(botUrl, 'help', 500, 0);

    const paced = pacedPerSender * concurrency;
    const pacedBare = await run(bareUrl, 'help', paced, 1_000);
    const pacedHelp = await run(botUrl, 'help', paced, 1_000);
    const pacedRequest = await run(botUrl, request, paced, 1_000);
    const fullBare = await run(bareUrl, 'help', saturatedTotal, 0);
    const fullHelp = await run(botUrl, 'help', saturatedTotal, 0);
    const fullRequest = await run(botUrl, request, saturatedTotal, 0);
    await bare.stop();

    const answers = await world.slack.responses();
    const created = answers.texts.filter((text) => /JIT-[0-9A-Z]{6}/.test(text)).length;
    const others = new Map<string, number>();
    for (const text of answers.texts) {
      if (/JIT-[0-9A-Z]{6}/.test(text) || text.startsWith('*jit-bot:')) continue;
      const key = text.slice(0, 120);
      others.set(key, (others.get(key) ?? 0) + 1);
    }
    const all = [pacedBare, pacedHelp, pacedRequest, fullBare, fullHelp, fullRequest];
    return {
      name: 'slack-ack',
      baseline: 'bare Bolt app, same receiver settings, acking /jit and nothing else',
      rows: [
        ...latencyRows('paced: help', pacedHelp, pacedBare),
        ...latencyRows('paced: request', pacedRequest, pacedBare),
        ...latencyRows('saturated: help', fullHelp, fullBare),
        ...latencyRows('saturated: request', fullRequest, fullBare),
      ],
      notes: [
        `${concurrency} senders; paced: ${paced} commands per run, one per sender per second; saturated: ${saturatedTotal} per run, back to back`,
        `saturated throughput (acks/s): bare ${rate(fullBare)}, help ${rate(fullHelp)}, request ${rate(fullRequest)}`,
        `answers other than 200: ${all.reduce((n, r) => n + r.failures, 0)}; requests created and answered: ${created} of ${paced + saturatedTotal}; answers refused by Slack: ${answers.failed}`,
        ...[...others].map(([text, n]) => `other answers (${n}): ${text}`),
      ],
    };
  } finally {
    await world.close();
  }
}

function rate(result: BlastResult): string {
  return ((result.latenciesMs.length / result.elapsedMs) * 1000).toFixed(0);
}

function latencyRows(label: string, ours: BlastResult, baseline: BlastResult): Row[] {
  return [50, 99].map((p) => {
    const mine = percentile(ours.latenciesMs, p);
    const base = percentile(baseline.latenciesMs, p);
    return {
      metric: `${label} p${p}`,
      ours: mine,
      baseline: base,
      unit: 'ms',
      goal: p === 99 ? '≤ 1.3×, ≪ 3 s' : '≤ 1.3×',
      met: ratio(mine, base) <= 1.3 && (p !== 99 || mine < 1_000),
    };
  });
}

/** Until the bot has answered `answers` commands and has no follow-up job waiting or running. */
async function settled(world: BenchWorld, bot: RunningBot, answers: number): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const answered = await world.slack.responseCount();
    const counts = await Promise.all(
      [bot.queues.notify, bot.queues.audit].map((queue) => queue.getJobCounts('waiting', 'active')),
    );
    const busy = counts.some((c) => (c.waiting ?? 0) + (c.active ?? 0) > 0);
    if (answered >= answers && !busy) return;
    if (Date.now() > deadline) throw new Error('the bot did not catch up within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
