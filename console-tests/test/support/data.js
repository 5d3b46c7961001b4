/**
 * A small working day, set up through the JSON API and a technician's field-cli phone: jobs
 * waiting, jobs assigned, a finished visit with a low score (an escalation and a low score in
 * the queues), an urgent job nobody can take (an escalation), a complaint to classify.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { phone } from "./server.js";
import { photo, signature } from "./png.js";

export async function seedDay(s) {
  for (const r of ["north", "south", "east"]) await s.region(r);
  for (const k of ["washers", "dryers"]) await s.skill(k);
  // Waiting for dispatch: created before anyone could take them.
  await s.order("WO-1001", { customer: "Vera VIP", tier: "vip" });
  await s.order("WO-1002", { customer: "Bruno Baker", skills: ["washers", "dryers"] });
  await s.user("tech-a", "technician", { regions: ["north"], skills: ["washers", "dryers"], capacity: 4 });
  await s.user("tech-b", "technician", { regions: ["north"], skills: ["washers"], capacity: 2 });
  await s.user("tech-c", "technician", { regions: ["south"], skills: ["washers"], capacity: 3 });
  await s.user("disp-n", "dispatcher", { regions: ["north"] });
  await s.user("mgr", "manager");
  await s.user("agent-1", "agent");
  // Dispatched on intake.
  await s.order("WO-2001", { customer: "Ada Customer" });
  await s.order("WO-2002", { customer: "Chris Cole" });
  await s.order("WO-2003", { customer: "Dana Dorsey", priority: "vip" });
  await s.order("WO-3001", { region: "south", customer: "Sam South" });
  await s.order("WO-C1", { customer: "Cleo Complaint", type: "complaint" });
  // Nobody works in the east: an urgent job there escalates at once.
  await s.order("WO-E1", { region: "east", priority: "urgent", customer: "Eve East" });

  // tech-a's phone finishes WO-2001 offline and syncs.
  const a = await phone(s, "tech-a");
  await writeFile(join(s.dir, "after.png"), photo());
  await writeFile(join(s.dir, "signature.png"), signature());
  await a(["sync"]);
  const view = await s.view("WO-2001");
  if (view.assignee !== "tech-a") await s.assign("WO-2001", "tech-a", view.assignee ? "seed" : null);
  await a(["sync"]);
  for (const step of [
    ["accept", "WO-2001"],
    ["on-site", "WO-2001"],
    ["diagnose", "WO-2001", "pump blocked by a coin", "--solution", "clean the pump"],
    ["start", "WO-2001"],
    ["part", "add", "WO-2001", "--sku", "PUMP-7", "--qty", "1", "--serial", "SN-NEW", "--old-serial", "SN-OLD"],
    ["photo", "add", "WO-2001", join(s.dir, "after.png"), "--kind", "after", "--caption", "new pump fitted"],
    ["test", "WO-2001", "--passed"],
    ["sign", "WO-2001", "--name", "Ada Customer", "--image", join(s.dir, "signature.png")],
    ["complete", "WO-2001", "--fixed"],
  ]) {
    await a(step);
  }
  await a(["sync"]);
  // The follow-up call: a low score escalates to a manager.
  await s.api("admin", "POST", "/v1/workorders/WO-2001/followup", { score: 2, comment: "came late", remedial: "" });
  return { phoneA: a };
}
