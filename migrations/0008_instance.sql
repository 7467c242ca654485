CREATE TABLE "deployment" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployment_one_row" CHECK ("singleton")
);--> statement-breakpoint
INSERT INTO "deployment" ("singleton") VALUES (true) ON CONFLICT DO NOTHING;
