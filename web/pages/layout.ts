// Where each object stands on the floor, the same for every user: the position the server
// stores (set in the admin console), else a free cell of a grid for the objects not placed
// yet (in id order, away from the others). The space view and the console's floor editor both draw from this.
import { FLOOR_HEIGHT, FLOOR_WIDTH, type ObjectDef, type Position } from "../../crates/protocol/bindings/protocol";

export { FLOOR_HEIGHT, FLOOR_WIDTH };

/** How near (floor units) a user must stand to an object to be subscribed to it. */
export const RANGE = 120;

export interface Spot extends Position {
  /** Whether the server stores this position (false: laid out by the grid). */
  placed: boolean;
}

/** Objects laid out by the page stand at least this far (floor units) from every other object. */
const APART = 130;
/** The cells the page lays unplaced objects out on, in the order it fills them. */
const COLS = 4;
const ROWS = 4;

/**
 * Every object's spot: its stored position, else, for the objects not placed yet (in id
 * order), the first cell of a COLS × ROWS grid that is APART from every object already
 * standing; when the floor has no such cell left, the grid of the unplaced ones alone.
 * It depends on the definitions only, so every user sees the same floor.
 */
export function spots(defs: readonly ObjectDef[]): Map<string, Spot> {
  const out = new Map<string, Spot>();
  for (const d of defs) if (d.position) out.set(d.id, { ...d.position, placed: true });
  const unplaced = defs.filter((d) => !d.position).sort((a, b) => a.id.localeCompare(b.id));
  const cells: Position[] = [];
  for (let row = 0; row < ROWS; row++) {
    for (let col = 0; col < COLS; col++) cells.push({ x: Math.round((col + 0.5) * (FLOOR_WIDTH / COLS)), y: Math.round((row + 0.5) * (FLOOR_HEIGHT / ROWS)) });
  }
  const cols = Math.max(1, Math.ceil(Math.sqrt(unplaced.length)));
  const rows = Math.max(1, Math.ceil(unplaced.length / cols));
  unplaced.forEach((d, i) => {
    const taken = [...out.values()];
    const free = cells.find((c) => taken.every((t) => Math.hypot(t.x - c.x, t.y - c.y) >= APART));
    out.set(
      d.id,
      free
        ? { ...free, placed: false }
        : {
            x: Math.round(((i % cols) + 0.5) * (FLOOR_WIDTH / cols)),
            y: Math.round((Math.floor(i / cols) + 0.5) * ((FLOOR_HEIGHT - 120) / rows) + 20),
            placed: false,
          },
    );
  });
  return out;
}

/** A position clamped to the floor, in whole floor units. */
export function onFloor(x: number, y: number): Position {
  return { x: Math.round(Math.max(0, Math.min(FLOOR_WIDTH, x))), y: Math.round(Math.max(0, Math.min(FLOOR_HEIGHT, y))) };
}
