CREATE TABLE "areas" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"name_key" text NOT NULL,
	"level" smallint NOT NULL,
	"parent_code" text,
	"geometry" jsonb NOT NULL,
	"bbox" real[] NOT NULL,
	"geometry_hash" text NOT NULL,
	"population" bigint,
	"source" text NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "household_cells" (
	"h3" bigint PRIMARY KEY NOT NULL,
	"households" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "households" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"household_id" text NOT NULL,
	"cnic" text NOT NULL,
	"head_name" text NOT NULL,
	"phone" text,
	"lat" double precision NOT NULL,
	"lon" double precision NOT NULL,
	"h3" bigint NOT NULL,
	"province" text,
	"district" text,
	"tehsil" text,
	"size" smallint NOT NULL,
	"pmt" real NOT NULL,
	"female_headed" boolean NOT NULL,
	"has_disabled" boolean NOT NULL,
	"has_elderly" boolean NOT NULL,
	"children_under5" boolean NOT NULL,
	"enrolments" text[] NOT NULL,
	"payment_channel" text,
	"payment_account" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_bodies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sha256" text NOT NULL,
	"content_type" text,
	"bytes" "bytea" NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"received_via" text NOT NULL,
	CONSTRAINT "alert_bodies_sha256_unique" UNIQUE("sha256")
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"chain_id" uuid NOT NULL,
	"sender" text NOT NULL,
	"identifier" text NOT NULL,
	"source" text NOT NULL,
	"format" text NOT NULL,
	"sent" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"msg_type" text NOT NULL,
	"scope" text NOT NULL,
	"references" jsonb NOT NULL,
	"incidents" text[] NOT NULL,
	"response_type" text[] NOT NULL,
	"hazard" text NOT NULL,
	"severity" text NOT NULL,
	"urgency" text NOT NULL,
	"certainty" text NOT NULL,
	"metrics" jsonb NOT NULL,
	"infos" jsonb NOT NULL,
	"effective" timestamp with time zone,
	"onset" timestamp with time zone,
	"expires" timestamp with time zone,
	"geometry" jsonb,
	"area_descriptions" text[] NOT NULL,
	"geocodes" jsonb NOT NULL,
	"area_codes" text[] NOT NULL,
	"unresolved" jsonb NOT NULL,
	"notes" text[] NOT NULL,
	"content_hash" text NOT NULL,
	"body_id" uuid NOT NULL,
	"state" text NOT NULL,
	"state_reason" text,
	"state_changed_by" uuid,
	"version" integer DEFAULT 1 NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feeds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"url" text NOT NULL,
	"format" text NOT NULL,
	"every_seconds" integer NOT NULL,
	"etag" text,
	"last_modified" text,
	"last_polled_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"next_poll_at" timestamp with time zone NOT NULL,
	"items_seen" integer DEFAULT 0 NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "feeds_url_unique" UNIQUE("url")
);
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_body_id_alert_bodies_id_fk" FOREIGN KEY ("body_id") REFERENCES "public"."alert_bodies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "areas_current_code_idx" ON "areas" USING btree ("code") WHERE valid_to is null;--> statement-breakpoint
CREATE INDEX "areas_level_idx" ON "areas" USING btree ("level");--> statement-breakpoint
CREATE INDEX "areas_parent_idx" ON "areas" USING btree ("parent_code");--> statement-breakpoint
CREATE INDEX "areas_name_key_idx" ON "areas" USING btree ("name_key");--> statement-breakpoint
CREATE UNIQUE INDEX "households_source_id_idx" ON "households" USING btree ("source","household_id");--> statement-breakpoint
CREATE INDEX "households_h3_idx" ON "households" USING btree ("h3");--> statement-breakpoint
CREATE INDEX "households_tehsil_idx" ON "households" USING btree ("tehsil");--> statement-breakpoint
CREATE INDEX "households_district_idx" ON "households" USING btree ("district");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_sender_identifier_idx" ON "alerts" USING btree ("sender","identifier");--> statement-breakpoint
CREATE INDEX "alerts_chain_idx" ON "alerts" USING btree ("chain_id");--> statement-breakpoint
CREATE INDEX "alerts_active_idx" ON "alerts" USING btree ("state","expires") WHERE state = 'active';--> statement-breakpoint
CREATE INDEX "alerts_sent_idx" ON "alerts" USING btree ("sent");--> statement-breakpoint
CREATE INDEX "alerts_area_codes_idx" ON "alerts" USING gin ("area_codes");