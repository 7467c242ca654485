ALTER TABLE "hosts" ADD COLUMN "resume_state" text;
