ALTER TABLE "hosts" ADD COLUMN "memory_free_bytes" bigint;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "up_since" timestamp with time zone;
