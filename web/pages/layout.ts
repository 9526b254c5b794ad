// Where each object stands on the floor, the same for every user: the position the server
// stores (set in the admin console), else a grid sorted by id for the objects not placed
// yet. The space view and the console's floor editor both draw from this.
import { FLOOR_HEIGHT, FLOOR_WIDTH, type ObjectDef, type Position } from "../../crates/protocol/bindings/protocol";

export { FLOOR_HEIGHT, FLOOR_WIDTH };

/** How near (floor units) a user must stand to an object to be subscribed to it. */
export const RANGE = 120;

export interface Spot extends Position {
  /** Whether the server stores this position (false: laid out by the grid). */
  placed: boolean;
}

/** Every object's spot: its stored position, or its cell in the grid of the unplaced ones. */
export function spots(defs: readonly ObjectDef[]): Map<string, Spot> {
  const out = new Map<string, Spot>();
  const unplaced = defs.filter((d) => !d.position).sort((a, b) => a.id.localeCompare(b.id));
  const cols = Math.max(1, Math.ceil(Math.sqrt(unplaced.length)));
  const rows = Math.max(1, Math.ceil(unplaced.length / cols));
  unplaced.forEach((d, i) => {
    out.set(d.id, {
      x: Math.round(((i % cols) + 0.5) * (FLOOR_WIDTH / cols)),
      y: Math.round((Math.floor(i / cols) + 0.5) * ((FLOOR_HEIGHT - 120) / rows) + 20),
      placed: false,
    });
  });
  for (const d of defs) if (d.position) out.set(d.id, { ...d.position, placed: true });
  return out;
}

/** A position clamped to the floor, in whole floor units. */
export function onFloor(x: number, y: number): Position {
  return { x: Math.round(Math.max(0, Math.min(FLOOR_WIDTH, x))), y: Math.round(Math.max(0, Math.min(FLOOR_HEIGHT, y))) };
}
