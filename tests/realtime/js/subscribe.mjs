// The graphql-ws npm client, as a browser or a Node service would use it, subscribed to applicationEvents.
//
//   ACIKKAPI_TOKEN=<session token> node subscribe.mjs ws://127.0.0.1:8000/graphql <events> <timeout ms>
//
// Prints one JSON line per happening: {"ready":true} once the server has the subscription, {"event":{...}} for
// each notice, {"closed":code,"reason":...} when the server closes the socket, {"error":...} for an error the
// client reports, {"timeout":true}. Exits 0 after <events> notices, 1 otherwise.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, wanted, timeoutMs] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

let acknowledged = false;
let probed = false;
let ready = false;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { token: process.env.ACIKKAPI_TOKEN },
  lazy: true,
  retryAttempts: 0, // a refused connection ends here, with the server's close code, instead of being retried
  // The client pings after the ack only once its subscribe message is out (both are sent as the ack arrives, the
  // ping by a timer), and the server answers messages in order: the pong of that ping says the server has it.
  keepAlive: 50,
  on: {
    connected: () => { acknowledged = true; },
    ping: (received) => { if (!received && acknowledged) probed = true; },
    pong: (received) => {
      if (received && probed && !ready) {
        ready = true;
        say({ ready: true });
      }
    },
    closed: (event) => say({ closed: event.code, reason: event.reason }),
  },
});

let heard = 0;
let finished = false;
const finish = async (code) => {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  unsubscribe();
  await client.dispose();
  process.exit(code);
};
const timer = setTimeout(() => { say({ timeout: true }); finish(1); }, Number(timeoutMs));
const unsubscribe = client.subscribe(
  { query: "subscription { applicationEvents { trackingNo action status } }" },
  {
    next: (result) => {
      say(result.errors ? { error: result.errors } : { event: result.data.applicationEvents });
      if (++heard >= Number(wanted)) finish(0);
    },
    error: (error) => {
      // a close event when the server refused or dropped the connection (printed by `closed` above)
      if (!(error && typeof error.code === "number")) say({ error: error?.message ?? String(error) });
      finish(1);
    },
    complete: () => finish(heard >= Number(wanted) ? 0 : 1),
  },
);
