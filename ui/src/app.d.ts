// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {}
  /**
   * `protocol.generated.ts` names `JsonValue` (serde_json::Value) without declaring it; it is
   * declared here, globally, because that file must not be edited.
   */
  type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
}
export {};
