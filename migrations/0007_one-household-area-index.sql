DROP INDEX "households_tehsil_idx";--> statement-breakpoint
DROP INDEX "households_district_idx";--> statement-breakpoint
CREATE INDEX "households_area_idx" ON "households" USING btree ((coalesce("tehsil", "district", "province", 'PK')) text_pattern_ops);