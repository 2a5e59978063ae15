/**
 * State of the payment link to the broker: shown on the idle screen and as a
 * banner, lit on the link LED, reported to the billing PC and in telemetry.
 * 'online' means subscribed, so confirmations can arrive.
 */
export type LinkState = 'online' | 'connecting' | 'offline';
