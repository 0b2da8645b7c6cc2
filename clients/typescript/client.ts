// A typed client for the Chatsight API: every path, parameter, body and answer (the error
// envelope included) comes from schema.d.ts, generated from the API's OpenAPI document by
// `make client`.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];
export type ErrorCode = Schemas["ErrorBody"]["code"];

/** A client for the API at `baseUrl`; `token` gives the current access token, if any. */
export function chatsightClient(baseUrl: string, token: () => string | undefined = () => undefined) {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      const value = token();
      if (value) request.headers.set("Authorization", `Bearer ${value}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

// Compile-time checks that the generated types say what the API does.
async function example(): Promise<void> {
  const api = chatsightClient("http://127.0.0.1:8000", () => "token");
  const { data, error } = await api.GET("/api/v1/chats/{chat_id}", {
    params: { path: { chat_id: "00000000-0000-0000-0000-000000000000" } },
  });
  if (error) {
    const code: ErrorCode = error.error.code;
    void code;
    return;
  }
  const status: string = data.status;
  void status;
}
void example;
