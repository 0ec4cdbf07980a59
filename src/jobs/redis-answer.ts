/**
 * Redis's answer within `redisAnswerMs`, or undefined when it failed or took longer. For checks
 * on the way to an answer to Slack (3 s ack deadline): replay memory, per-person limits. Each
 * caller decides what "no answer" means, and all of them let the request through.
 */
export const redisAnswerMs = 500;

export async function redisAnswer<T>(answer: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), redisAnswerMs);
  });
  try {
    return await Promise.race([answer.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
