CREATE TABLE "activations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_version_id" uuid NOT NULL,
	"rule_id" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"stage" text NOT NULL,
	"evaluation_id" uuid NOT NULL,
	"status" text NOT NULL,
	"stopped_reason" text,
	"created_at" timestamp with time zone NOT NULL,
	"stopped_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "evaluations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_version_id" uuid NOT NULL,
	"rule_id" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"stage" text,
	"fired" boolean NOT NULL,
	"decision" jsonb NOT NULL,
	"cause" text NOT NULL,
	"evaluated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"hazard" text NOT NULL,
	"status" text NOT NULL,
	"area_codes" text[] NOT NULL,
	"alert_ids" uuid[] NOT NULL,
	"notification" jsonb NOT NULL,
	"jurisdiction" text NOT NULL,
	"created_by" text NOT NULL,
	"declared_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rule_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_id" text NOT NULL,
	"content_hash" text NOT NULL,
	"version_label" text NOT NULL,
	"yaml" text NOT NULL,
	"parsed" jsonb NOT NULL,
	"source_file" text,
	"loaded_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rules" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"current_version_id" uuid,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activations" ADD CONSTRAINT "activations_rule_version_id_rule_versions_id_fk" FOREIGN KEY ("rule_version_id") REFERENCES "public"."rule_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activations" ADD CONSTRAINT "activations_evaluation_id_evaluations_id_fk" FOREIGN KEY ("evaluation_id") REFERENCES "public"."evaluations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_rule_version_id_rule_versions_id_fk" FOREIGN KEY ("rule_version_id") REFERENCES "public"."rule_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rule_versions" ADD CONSTRAINT "rule_versions_rule_id_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."rules"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "activations_once_idx" ON "activations" USING btree ("rule_version_id","subject_kind","subject_id","stage");--> statement-breakpoint
CREATE INDEX "activations_active_idx" ON "activations" USING btree ("subject_kind","subject_id") WHERE status = 'active';--> statement-breakpoint
CREATE INDEX "evaluations_subject_idx" ON "evaluations" USING btree ("subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "evaluations_rule_idx" ON "evaluations" USING btree ("rule_id");--> statement-breakpoint
CREATE INDEX "events_jurisdiction_idx" ON "events" USING btree ("jurisdiction");--> statement-breakpoint
CREATE INDEX "events_area_codes_idx" ON "events" USING gin ("area_codes");--> statement-breakpoint
CREATE UNIQUE INDEX "rule_versions_rule_hash_idx" ON "rule_versions" USING btree ("rule_id","content_hash");