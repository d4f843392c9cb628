DROP INDEX "plan_updates_action_idx";--> statement-breakpoint
ALTER TABLE "plan_updates" ADD COLUMN "seq" bigserial NOT NULL;--> statement-breakpoint
CREATE INDEX "plan_updates_action_idx" ON "plan_updates" USING btree ("action_id","seq");