ALTER TABLE "hosts" ADD COLUMN "tls_dir" text;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "insecure" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "advertise_address" text;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "labels" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "state" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "cpus" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "memory_mib" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "disk_free_bytes" bigint;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "last_seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;ALTER TABLE "hosts" ADD CONSTRAINT "hosts_state_check" CHECK ("state" IN ('active', 'draining', 'down'));
