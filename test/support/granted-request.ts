import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, users } from './harness.js';

/**
 * A request made with `/jit request` and approved from the approver's DM; resolves with its id once
 * the requester has been told the access is theirs, so it is granted on the target by then.
 */
export async function grantedRequest(
  h: Harness,
  request: { requester: string; resource: string; duration: string; reason?: string; approver?: string },
): Promise<string> {
  const approver = request.approver ?? users.bob;
  const id = await h.request(request.requester, request.resource, request.duration, request.reason);
  await h.click(approver, actionIds.approve, id, await h.approverMessage(id, approver));
  await h.dmTo(request.requester, `${id}\`: you have`);
  return id;
}
