// The service over the Connect protocol with JSON, same origin (docs/DESIGN.md
// section 1, "Protocols"): unary calls are a POST of the request's proto3 JSON;
// server streams are enveloped messages (flag byte, 4-byte big-endian length,
// JSON) ended by an envelope with flag 0x02 holding {"error": ...} or {}.
const SERVICE = "/backtest.v1.BacktestService/";
const TOKEN_KEY = "backtest.token";

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) || "",
  set: (t) => (t ? localStorage.setItem(TOKEN_KEY, t) : localStorage.removeItem(TOKEN_KEY)),
};

export class APIError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function headers(contentType) {
  const h = { "content-type": contentType, "connect-protocol-version": "1" };
  const t = token.get();
  if (t) h.authorization = "Bearer " + t;
  return h;
}

export async function unary(method, request, signal) {
  const response = await fetch(SERVICE + method, {
    method: "POST", headers: headers("application/json"), body: JSON.stringify(request), signal,
  });
  const text = await response.text();
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new APIError("unknown", `${method}: HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) throw new APIError(body.code || "unknown", body.message || `HTTP ${response.status}`);
  return body;
}

// Calls onMessage for each message of a server stream; resolves at its OK end,
// throws APIError for an error end.
export async function stream(method, request, onMessage, signal) {
  const json = new TextEncoder().encode(JSON.stringify(request));
  const envelope = new Uint8Array(5 + json.length);
  new DataView(envelope.buffer).setUint32(1, json.length);
  envelope.set(json, 5);
  const response = await fetch(SERVICE + method, {
    method: "POST", headers: headers("application/connect+json"), body: envelope, signal,
  });
  if (!response.ok) {
    const text = await response.text();
    let body = {};
    try { body = JSON.parse(text); } catch { /* not JSON: the status says enough */ }
    throw new APIError(body.code || "unknown", body.message || `HTTP ${response.status}`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (value) {
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer);
      joined.set(value, buffer.length);
      buffer = joined;
    }
    while (buffer.length >= 5) {
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
      const flags = view.getUint8(0);
      const length = view.getUint32(1);
      if (buffer.length < 5 + length) break;
      const message = JSON.parse(decoder.decode(buffer.subarray(5, 5 + length)) || "{}");
      buffer = buffer.slice(5 + length);
      if (flags & 0x02) {
        if (message.error) throw new APIError(message.error.code || "unknown", message.error.message || "");
        return;
      }
      onMessage(message);
    }
    if (done) throw new APIError("unavailable", `${method}: the stream ended without its end message`);
  }
}
