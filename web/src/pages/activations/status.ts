/** The state an activation is in, as a badge shows it: paused (by hand or automatically), disabled or active. */

export interface ActivationStatus {
  label: string;
  color: string;
  reason: string | null;
}

export function activationStatus(activation: { enabled: boolean; paused_reason: string | null }, automaticPause?: boolean): ActivationStatus {
  if (activation.paused_reason) {
    return { label: automaticPause ? "paused automatically" : "paused", color: "orange", reason: activation.paused_reason };
  }
  if (!activation.enabled) return { label: "disabled", color: "gray", reason: "Disabled: no scheduled runs." };
  return { label: "active", color: "teal", reason: null };
}
