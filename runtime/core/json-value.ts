/**
 * Plain JSON: what an agent's config, state snapshot, events and token-report info are made of. A leaf module
 * (it imports nothing), so both the plugin contract (plugin.ts) and the channel's message table
 * (channel-methods.ts) can use it without importing each other.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
