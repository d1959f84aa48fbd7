"""Page text in Chinese (default) and English. Domain terms keep both names.

Every table maps a key to (中文, English). `Texts(lang)` looks them up; a key missing
from a table shows as itself, and tests/web/test_i18n.py checks that every event type
the processes record, every stage and every action has its words here.
"""

from __future__ import annotations

from typing import Any

from casework.domain.registry import CASE_TYPES as REGISTERED

LANGS = ("zh", "en")

Pair = tuple[str, str]

STAGES: dict[str, Pair] = {
    str(stage): words for t in REGISTERED.values() for stage, words in t.stage_labels.items()
}
"""Every registered case type's stages (`CaseType.stage_labels`)."""

ACTIONS: dict[str, Pair] = {
    # the shared verbs (casework.domain.case.Action)
    "claim": ("认领", "claim"),
    "approve": ("同意", "approve"),
    "reject": ("驳回", "reject"),
    "return": ("退回", "return"),
    "request-info": ("要求补充材料", "request info"),
    "provide-info": ("补充材料", "provide info"),
    "object": ("公示异议", "object"),
    "withdraw": ("撤回", "withdraw"),
    "comment": ("备注", "comment"),
    "reassign": ("改派", "reassign"),
    "extend": ("延期", "extend"),
    "hold": ("暂停计时", "hold"),
    "resume": ("恢复计时", "resume"),
    "interrupt-deadline": ("期限中断", "interrupt a deadline"),
    "suspend-deadline": ("期限中止", "suspend a deadline"),
    "resume-deadline": ("期限恢复计算", "resume a deadline"),
    # and each case type's own verbs (`CaseType.action_labels`):
    **{k: v for t in REGISTERED.values() for k, v in t.action_labels.items()},
}

EVENTS: dict[str, Pair] = {
    # {stage}, {to_stage}, {outcome} are filled in from the event.
    "case.opened": ("立案", "case opened"),
    "case.stage_entered": ("进入{stage}", "entered {stage}"),
    "task.opened": ("{stage}待办生成", "{stage} task opened"),
    "task.claimed": ("认领{stage}任务", "claimed the {stage} task"),
    "task.approved": ("{stage}通过", "{stage} approved"),
    "task.rejected": ("{stage}驳回", "rejected at {stage}"),
    "task.returned": ("{stage}退回至{to_stage}", "returned from {stage} to {to_stage}"),
    "task.info_requested": ("要求补充材料", "information requested"),
    "task.info_provided": ("已补充材料", "information provided"),
    "task.overdue": ("{stage}超期", "{stage} overdue"),
    "task.escalated": ("{stage}超期升级督办", "{stage} escalated to the supervisors"),
    "task.reassigned": ("督办改派", "reassigned by a supervisor"),
    "task.extended": ("督办延期", "deadline extended by a supervisor"),
    "task.held": ("督办暂停计时", "clock put on hold by a supervisor"),
    "task.resumed": ("督办恢复计时", "clock resumed by a supervisor"),
    "task.cancelled": ("待办任务撤销", "task cancelled"),
    "case.commented": ("备注", "comment"),
    "case.closed": ("结案：{outcome}", "case closed: {outcome}"),
    "case.terminated": ("流程被终止，已结案", "workflow terminated: case closed"),
    "case.restarted": ("流程已重新启动", "workflow restarted from the recorded events"),
    "case.personal_data_erased": ("个人信息已销毁", "personal data erased"),
    # and each case type's own events (`CaseType.event_labels`):
    **{k: v for t in REGISTERED.values() for k, v in t.event_labels.items()},
    # {deadline}: the deadline's own label (仲裁时效, arbitration limitation), else its name.
    "deadline.set": ("设定期限：{deadline}", "deadline set: {deadline}"),
    "deadline.warned": ("{deadline}即将届满", "{deadline} approaching"),
    "deadline.escalated": ("{deadline}临近届满，升级督办", "{deadline} near: escalated"),
    "deadline.passed": ("{deadline}已届满", "{deadline} passed"),
    "deadline.interrupted": ("{deadline}中断，重新计算", "{deadline} interrupted: runs again"),
    "deadline.suspended": ("{deadline}中止计算", "{deadline} suspended"),
    "deadline.resumed": ("{deadline}恢复计算", "{deadline} resumed"),
    "deadline.met": ("{deadline}已按期办理", "{deadline} met in time"),
    "deadline.cleared": ("{deadline}解除", "{deadline} cleared"),
}

OUTCOMES: dict[str, Pair] = {
    "approved": ("批准", "approved"),
    "rejected": ("驳回", "rejected"),
    "withdrawn": ("撤回", "withdrawn"),
    "failed": ("失败", "failed"),
    "terminated": ("流程被终止", "terminated"),
}

STATUSES: dict[str, Pair] = {
    "open": ("办理中", "open"),
    "closed": ("已结案", "closed"),
    "waiting_info": ("等待补充材料", "waiting for information"),
    # a case deadline's
    "running": ("计算中", "running"),
    "suspended": ("中止", "suspended"),
    "passed": ("已届满", "passed"),
    "met": ("已按期办理", "met"),
    "cleared": ("已解除", "cleared"),
}

CATEGORIES: dict[str, Pair] = {
    "deep": ("深度困难", "deep hardship"),
    "relative": ("相对困难", "relative hardship"),
    "accident": ("意外致困", "accident-induced hardship"),
}

RELIEF_TYPES: dict[str, Pair] = {
    "living": ("生活救助", "living"),
    "medical": ("医疗救助", "medical"),
    "education": ("助学", "education"),
    "seasonal": ("送温暖", "seasonal"),
}

FIELDS: dict[str, Pair] = {
    # The open-case form's labels (casework.web.application_form), by the field's
    # dotted path in the application (`household.size`) or, for every type that has
    # it, by its name. Amounts (`*_fen`) are typed in yuan: say 元 here, or the form
    # adds （元）. A field without words shows its description, then its name.
    "application": ("申请内容", "The application"),
    "applicant": ("申请人", "Applicant"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"),
    "phone": ("手机号", "Phone"),
    "employer": ("工作单位", "Employer"),
    "applicant.employer": ("工作单位", "Employer"),
    "district": ("区县", "District"),
    "bank_account": ("银行账号", "Bank account"),
    "household": ("家庭情况", "Household"),
    "household.size": ("家庭人口", "Household size"),
    "yearly_income_fen": ("家庭年收入（元）", "Household yearly income (yuan)"),
    "medical_expenses_fen": ("医疗刚性支出（元/年）", "Medical expenses (yuan a year)"),
    "schooling_expenses_fen": ("教育刚性支出（元/年）", "Schooling expenses (yuan a year)"),
    "category": ("困难类别", "Category"),
    "relief_type": ("救助类型", "Relief type"),
    "requested_amount_fen": ("申请金额（元）", "Requested amount (yuan)"),
    "reason": ("申请理由", "Reason"),
    # the data of actions (CaseType.approval_models, action_models), by name or by
    # `action.name` (`approve.recovered_fen`)
    "approved_amount_fen": ("核定金额（元）", "Approved amount (yuan)"),
    "explanation": ("区县审核说明", "District's explanation"),
    "national_ref": ("全国系统编号", "National system reference"),
    "on": ("日期", "Date"),
    # and each case type's own (`CaseType.field_labels`), in the order they list them
    **{k: v for t in REGISTERED.values() for k, v in t.field_labels.items()},
}

HINTS: dict[str, Pair] = {
    # What to type into an action's field, by `action.name` or by name.
    "approved_amount_fen": (
        "留空即按申请金额；核减须在意见中说明理由",
        "empty: the amount as requested; a lower amount needs the reason in the comment",
    ),
    "explanation": (
        "家庭不符合任何困难类别时必填",
        "required when the household qualifies for no category",
    ),
    # and each case type's own (`CaseType.field_hints`)
    **{k: v for t in REGISTERED.values() for k, v in t.field_hints.items()},
}

ROLES: dict[str, Pair] = {
    "grassroots_officer": ("基层工会干事", "grassroots officer"),
    "district_officer": ("区县总工会干事", "district officer"),
    "district_leader": ("区县总工会领导", "district leader"),
    "city_officer": ("市总工会干事", "city officer"),
    "city_leader": ("市总工会领导", "city leader"),
    "legal_aid_officer": ("法律援助干事", "legal aid officer"),
    "lawyer": ("援助律师", "lawyer"),
    "auditor": ("审计员", "auditor"),
    "audit_lead": ("审计组长", "audit lead"),
    "committee_member": ("评审委员", "committee member"),
    "vetting_officer": ("联审部门干事", "vetting officer"),
    "supervisor": ("督办", "supervisor"),
    "admin": ("系统管理员", "administrator"),
}

CASE_TYPES: dict[str, Pair] = {name: t.label for name, t in REGISTERED.items()}

CHOICES: dict[str, dict[str, Pair]] = {
    # A select's options on the open-case form, by the field's name; a field not here
    # shows its values as they are (the districts).
    "category": CATEGORIES,
    "relief_type": RELIEF_TYPES,
    **{name: dict(words) for t in REGISTERED.values() for name, words in t.choices.items()},
}

NOTICES: dict[str, Pair] = {
    # The only banners a URL may ask for: `?notice=<code>`; the text is ours.
    "opened": ("已立案", "Case opened"),
    "done": ("已办理", "Done"),
}

TEXT: dict[str, Pair] = {
    "title": ("工会案件审批", "Union case approvals"),
    "inbox": ("我的待办", "My inbox"),
    "sign_in": ("登录", "Sign in"),
    "sign_in_button": ("登录", "Sign in"),
    "sign_in_oidc": ("使用统一身份认证登录", "Sign in with the federation's single sign-on"),
    "user_id": ("用户名", "User id"),
    "password": ("密码", "Password"),
    "login_expired": (
        "登录表单已过期，请重新输入 (the sign-in form expired; try again)",
        "The sign-in form expired or came from another site; try again",
    ),
    "retry_after": ("可于此时间后重试", "try again after"),
    "sign_out": ("退出", "Sign out"),
    "no_tasks": ("没有待办任务", "No open tasks"),
    "case": ("案件", "Case"),
    "type": ("类型", "Type"),
    "stage": ("阶段", "Stage"),
    "status": ("状态", "Status"),
    "outcome": ("结果", "Outcome"),
    "district": ("区县", "District"),
    "due": ("期限", "Due"),
    "assignee": ("承办人", "Assignee"),
    "applicant": ("申请人", "Applicant"),
    "amount": ("金额（元）", "Amount (yuan)"),
    "opened_by": ("立案人", "Opened by"),
    "opened_at": ("立案时间", "Opened"),
    "open_task": ("待办任务", "Open task"),
    "parallel_tasks": ("多项待办任务", "Open tasks of this case"),
    "see_parallel_tasks": ("{n} 项待办任务，见下", "{n} open tasks, below"),
    "task_id": ("任务编号", "Task id"),
    "task": ("任务", "Task"),
    "act_on_task": ("办理任务", "Act on task"),
    "findings": ("审计发现", "Findings"),
    "findings_total": ("{n} 项 · 合计 {amount} 元", "{n} · {amount} yuan in all"),
    "finding_no": ("编号", "No."),
    "finding_kind": ("问题类别", "Kind"),
    "finding_state": ("状态", "State"),
    "finding_about": ("问题与证据", "What and the evidence"),
    "from_sample": ("抽样案件", "sampled case"),
    "closed_by": ("核查人", "checked by"),
    "samples": ("抽样", "Samples"),
    "sample_drawn": (
        "{district} {year} 年已结案件 · 抽 {drawn}/{candidates} 件 · 比例 {rate} · 种子 {seed}",
        "{district}'s closed cases of {year} · {drawn} of {candidates} drawn · rate {rate} · seed {seed}",
    ),
    "sample_wanting": ("有问题的案件", "Cases with problems"),
    "sample_fine": ("无问题 {n} 件", "{n} without problems"),
    "no_finding_yet": ("未记为审计发现", "no finding yet"),
    "none": ("无", "none"),
    "unclaimed": ("未认领", "unclaimed"),
    "history": ("办理记录", "History"),
    "act": ("办理", "Act"),
    "action": ("操作", "Action"),
    "choose": ("请选择", "choose"),
    "comment": ("意见/原因", "Comment / reason"),
    "comment_hint": (
        "驳回、退回、要求补充材料、督办操作等须填写",
        "needed to reject, return, request information and for supervisor actions",
    ),
    "data": ("附加数据（JSON）", "Data (JSON)"),
    "data_hint": (
        "高级：直接填写 JSON；填写后以此为准",
        "Advanced: the action's data as JSON; when filled in, it is used as is",
    ),
    "submit": ("提交", "Submit"),
    "done": ("已办理", "Done"),
    "refused": ("操作被拒绝", "Refused"),
    "no_actions": (
        "此阶段没有您可办理的操作",
        "There is nothing you may do on this case at this stage",
    ),
    "new_case": ("立案", "Open a case"),
    "new_case_of": ("{type}立案", "Open a {type} case"),
    "new_case_choose": ("请选择案件类型", "Choose the kind of case"),
    "optional": ("选填", "optional"),
    "in_yuan": ("（元）", " (yuan)"),
    "open_case": ("立案", "Open case"),
    "time": ("时间", "Time"),
    "event": ("事件", "Event"),
    "actor": ("操作人", "By"),
    "details": ("意见/说明", "Comment / details"),
    "waiting_info": ("等待补充材料", "waiting for information"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"),
    "phone": ("手机号", "Phone"),
    "employer": ("工作单位", "Employer"),
    "applicant.employer": ("工作单位", "Employer"),
    "bank_account": ("银行账号", "Bank account"),
    "household": ("家庭情况", "Household"),
    "household_size": ("家庭人口", "Household size"),
    "persons": ("人", "persons"),
    "monthly_income": ("家庭月收入（元）", "Household monthly income (yuan)"),
    "income_per_head": ("人均月收入（元）", "Monthly income per head (yuan)"),
    "yearly_income": ("家庭年收入（元）", "Household yearly income (yuan)"),
    "medical_expenses": ("医疗刚性支出（元/年）", "Medical expenses (yuan a year)"),
    "schooling_expenses": ("教育刚性支出（元/年）", "Schooling expenses (yuan a year)"),
    "review": ("审核要点", "What the reviewer decides on"),
    "declared_category": ("申报类别", "Declared category"),
    "computed_category": ("核定类别", "Computed category"),
    "no_category": ("不符合任何类别", "no category"),
    "differs": ("与申报不一致", "differs from the declared one"),
    "not_computed": ("未计算（立案早于核定规则）", "not computed (opened before the rule)"),
    "from_application": ("依据申请", "from the application"),
    "from_home_visit": ("依据入户调查", "from the home visit"),
    "di_bao": ("低保标准（元/月/人）", "低保 (yuan a month per head)"),
    "rule": ("依据", "Rule"),
    "district_explanation": ("区县审核说明", "District's explanation"),
    "approved_amount": ("核定金额（元）", "Approved amount (yuan)"),
    "relief_fund": ("区县帮扶资金", "District relief fund"),
    "budget": ("预算", "budget"),
    "committed": ("已占用", "committed"),
    "paid": ("已拨付", "paid"),
    "left": ("余额", "left"),
    "national_ref": ("全国系统编号", "National system reference"),
    "ca_unavailable": ("未获答复", "unavailable"),
    "category": ("困难类别", "Category"),
    "relief_type": ("救助类型", "Relief type"),
    "requested_amount": ("申请金额（元）", "Requested amount (yuan)"),
    "reason": ("申请理由", "Reason"),
    "invalid": ("申请材料有误，请按提示修改", "Please correct the fields marked below"),
    "application": ("申请内容", "The application"),
    "finding": ("审计发现", "Finding"),
    "home_visit": ("入户调查", "Home visit"),
    "visitors": ("调查人", "Visitors"),
    "visit_with": ("同行调查人（您与其一同入户）", "Visited together with"),
    "assets": ("家庭财产", "Assets"),
    "cause": ("致困原因", "Cause of hardship"),
    "explanation": ("情况说明", "Explanation"),
    "explanation_hint": (
        "民政核对不一致时必填",
        "required when the civil-affairs check found no match",
    ),
    "visit_recorded_by": ("提交人", "Recorded by"),
    "civil_affairs": ("民政核对", "Civil-affairs check"),
    "match": ("一致", "match"),
    "no_match": ("不一致", "no match"),
    "pending": ("核对中", "still running"),
    "notice_ends": ("公示截止", "Public notice ends"),
    "clock": ("办理时限", "Task clock"),
    "working_days_used": ("已用工作日", "Working days used"),
    "working_days_left": ("剩余工作日", "Working days left"),
    "days_overdue": ("超期工作日", "Working days overdue"),
    "no_limit": ("无时限", "no time limit"),
    "paused": ("计时暂停", "clock paused"),
    "pause_info": ("等待补充材料", "waiting for information"),
    "pause_hold": ("督办暂停", "on hold"),
    "pauses": ("暂停记录", "Pauses"),
    "overdue": ("超期", "overdue"),
    "escalated": ("已升级督办", "escalated"),
    "on_time": ("正常", "on time"),
    "system": ("系统", "system"),
    "to": ("改派给", "to"),
    "previously": ("原", "previously"),
    "until": ("新期限", "New due date"),
    "was_due": ("原期限", "was due"),
    "round": ("第{n}轮", "round {n}"),
    "days_before": ("届满前 {n} 日", "{n} days before"),
    "days_left": ("剩余 {n} 日", "{n} days left"),
    "interrupted_on": ("中断事由发生于", "interrupted on"),
    "deadlines": ("案件期限", "Case deadlines"),
    "deadline_name": ("期限", "Deadline"),
    "deadline_near": ("临近届满", "near"),
    "deadline_passed": ("已届满", "passed"),
    "deadline_status": ("状态", "Status"),
    "deadline_active": ("在计", "Active"),
    "interrupted_on_hint": ("仅期限中断填写，默认今天", "interrupt only; default today"),
    "transfer": ("转账流水", "transfer"),
    # supervisors
    "board": ("督办看板", "Board"),
    "stuck": ("卡办任务", "Stuck tasks"),
    "board_intro": (
        "按区县和阶段统计在办、超期、已升级任务及中位时长",
        "Open, overdue and escalated tasks and their median age, per district and stage",
    ),
    "stuck_intro": (
        "超期（及长期无进展）的待办任务，最早的在前",
        "Tasks past due (and idle ones), oldest first",
    ),
    "open_count": ("在办", "open"),
    "overdue_count": ("超期", "overdue"),
    "escalated_count": ("已升级", "escalated"),
    "median_age": ("中位时长（天）", "median age (days)"),
    "total": ("合计", "total"),
    "all_districts": ("全部（本人管辖范围）", "all (your jurisdiction)"),
    "all": ("全部", "all"),
    "at": ("查看时点（北京时间）", "As of (Beijing time)"),
    "at_hint": ("留空为当前时间", "empty: now"),
    "show": ("查看", "Show"),
    "queue": ("队列", "Queue"),
    "late": ("超期", "Late"),
    "last_event": ("最后事件", "Last event"),
    "notes": ("说明", "Notes"),
    "idle": ("{n} 个工作日无进展", "idle {n} working days"),
    "overdue_only": ("仅超期", "Overdue only"),
    "idle_days": ("无进展工作日数", "Idle working days"),
    "limit": ("最多显示", "At most"),
    "no_rows": ("没有在办任务", "No open tasks"),
    "nothing_stuck": ("没有卡办任务", "Nothing stuck"),
    "limited": ("仅显示最早的 {n} 项", "Only the oldest {n} shown"),
    "supervise": ("督办", "Supervise"),
    "nothing_to_supervise": ("无可用督办操作", "No supervisor action available"),
    "barred": ("不可承办", "may not take it"),
    "chart_title": ("{district}：各阶段任务", "{district}: tasks per stage"),
    # errors
    "error": ("出错了", "Something went wrong"),
    "back_home": ("返回待办", "Back to the inbox"),
    "not_found": (
        "未找到该页面或案件，或不在您的管辖范围内",
        "No such page or case, or it is outside your jurisdiction",
    ),
    "forbidden_role": (
        "您没有查看此页面的权限（需要督办 supervisor 角色）",
        "You may not see this page (supervisor role required)",
    ),
    "forbidden_report": (
        "您没有查看年度报告的权限（需要市总工会 city_officer、city_leader 或 admin 角色）",
        "You may not see the year-end report (the city's city_officer, city_leader or admin)",
    ),
    "annual_report": ("年度报告", "Year-end report"),
    "funds": ("帮扶资金台账", "Funds ledger"),
    "campaigns": ("评选表彰", "Award campaigns"),
    "campaign_places": ("总名额已报送", "Places forwarded"),
    "campaign_quotas": ("各区县名额", "Quotas per district"),
    "campaign_rules": ("比例要求", "Ratio rules"),
    "campaign_nominations": ("推荐", "Nominations"),
    "campaign_honours": ("表彰名单", "Honour list"),
    "forbidden_campaign": (
        "您没有查看评选活动的权限（需要工会工作人员或评审委员角色）",
        "You may not see this campaign (union staff and committee members only)",
    ),
    "funds_lead": (
        "各区县帮扶资金：预算、预留、已付、释放、余额（元）",
        "Each district's funds: budget, reserved, paid, released, left (yuan)",
    ),
    "funds_source": ("来源", "Source"),
    "funds_none": ("本年度尚无资金记录", "Nothing allocated or paid this year"),
    "funds_awaiting": ("件案件等待资金追加", "cases awaiting a top-up of the fund"),
    "forbidden_funds": (
        "您没有查看帮扶资金台账的权限（需要区县或市总工作人员角色）",
        "You may not see the funds ledger (district or city staff only)",
    ),
    "refunds": ("工会经费返还", "Dues refunds"),
    "refunds_lead": (
        "小微企业工会经费返还：各区县缴费记录、申请、已返还与待复核（元）",
        "Union dues refunded to small firms: each district's records, applications, "
        "refunds and exceptions (yuan)",
    ),
    "refunds_progress": ("返还进度", "Progress"),
    "refunds_finished": ("完成", "finished"),
    "refunds_waiting": ("件待匹配", "to match"),
    "refunds_exceptions": ("待复核申请", "Applications left for review"),
    "refunds_no_exceptions": ("没有待复核的申请", "No exceptions"),
    "refunds_none": ("本年度尚无返还记录", "Nothing imported or applied for this year"),
    "forbidden_refunds": (
        "您没有查看经费返还情况的权限（需要区县或市总工作人员、督办或审计角色）",
        "You may not see the refunds (district or city staff, supervisors and auditors only)",
    ),
    "annual_report_computed": ("生成于", "Computed"),
    "annual_report_by_district": ("分区县发放金额", "Money paid per district"),
    "annual_report_text": ("报告数据", "The report"),
    "annual_report_none": (
        "本年度报告尚未生成：由定时任务于12月31日生成，或运行 casework report annual --fresh",
        "Not computed yet: the schedule computes it on 31 December, or run casework report annual --fresh",
    ),
    "forbidden_open": (
        "您的角色不能立案",
        "Your roles open no kind of case",
    ),
    "forbidden_open_type": (
        "{type}立案需要{role}角色",
        "Opening a {type} case needs the {role} role",
    ),
    "unavailable": (
        "办理服务暂时不可用，请稍后重试",
        "The case service is unavailable; try again shortly",
    ),
    "internal": (
        "服务器内部错误，已记录，请稍后重试",
        "Internal error (logged); try again shortly",
    ),
    "bad_encoding": (
        "表单内容不是有效的 UTF-8 编码，未作任何处理",
        "The form was not valid UTF-8; nothing was done",
    ),
    "too_large": ("表单内容过大，未作任何处理", "The form is too large; nothing was done"),
    "bad_request": ("请求无效", "Bad request"),
    "pending_outcome": (
        "已提交，尚未确认结果；请刷新页面查看，或稍后再次提交（不会重复办理）",
        "Sent; the outcome is not confirmed yet. Reload to see it, or send again "
        "(it is applied once)",
    ),
    "closed_meanwhile": (
        "案件已结束，无法继续办理",
        "The case has ended; there is nothing more to do",
    ),
    # field problems
    "required": ("必填", "required"),
    "bad_yuan": (
        "请输入金额（元），如 3000 或 3000.50",
        "Enter an amount in yuan, e.g. 3000 or 3000.50",
    ),
    "negative": ("不能为负数", "must not be negative"),
    "two_decimals": ("最多两位小数（分）", "at most two decimals (fen)"),
    "too_big": ("数额过大", "too large"),
    "bad_count": ("请输入整数人数，如 3", "Enter a whole number of people, e.g. 3"),
    "bad_whole": ("请输入整数，如 3", "Enter a whole number, e.g. 3"),
    "bad_choice": ("请从列表中选择", "choose one of the options"),
    "bad_date": ("日期格式应为 YYYY-MM-DD", "Enter a date as YYYY-MM-DD"),
    "bad_at": (
        "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM（北京时间）",
        "Enter YYYY-MM-DD or YYYY-MM-DDTHH:MM (Beijing time)",
    ),
    "at_range": (
        "时点须在近五年至一年后之间",
        "must lie between five years ago and a year from now",
    ),
    "bad_json": ("不是有效的 JSON 对象", "not a valid JSON object"),
    "json_too_large": ("数据过大", "too large"),
    "between": ("须在 {lo} 至 {hi} 之间", "must be between {lo} and {hi}"),
    "at_least": ("不能小于 {lo}", "must be at least {lo}"),
    "at_most": ("不能大于 {hi}", "must be at most {hi}"),
    "more_than": ("须大于 {lo}", "must be more than {lo}"),
    "too_long": ("最多 {n} 个字符", "at most {n} characters"),
    "too_short": ("至少 {n} 个字符", "at least {n} characters"),
    "n_digits": ("应为 {n} 位数字", "{n} digits"),
    "bad_format": ("格式不正确", "not in the expected form"),
    "objector": ("异议人姓名", "Objector's name"),
    "anonymous": ("匿名异议", "anonymous objection"),
    "unknown_user": ("未知或已停用的用户", "unknown or disabled user"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "check_passed": ("符合", "met"),
    "check_failed": ("不符合", "not met"),
    "outside_jurisdiction": ("不在您的管辖范围内", "outside your jurisdiction"),
}


def _pick(table: dict[str, Pair], key: str, index: int) -> str:
    pair = table.get(key)
    return pair[index] if pair else key


class Texts:
    """The words of one language. Templates call these as `t`, `stage`, `action`, ..."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else "zh"
        self.index = 1 if self.lang == "en" else 0

    def t(self, key: str, **values: Any) -> str:
        text = _pick(TEXT, key, self.index)
        return text.format(**values) if values else text

    def stage(self, key: str | None) -> str:
        """A stage with both names in Chinese pages (domain terms keep both)."""
        if not key:
            return "-"
        pair = STAGES.get(key)
        if pair is None:
            return key
        return f"{pair[0]} {pair[1]}" if self.index == 0 else pair[1]

    def stage_short(self, key: str | None) -> str:
        return _pick(STAGES, key or "", self.index) if key else "-"

    def action(self, key: str) -> str:
        return _pick(ACTIONS, key, self.index)

    def outcome(self, key: str | None) -> str:
        return _pick(OUTCOMES, key, self.index) if key else "-"

    def status(self, key: str | None) -> str:
        return _pick(STATUSES, key, self.index) if key else "-"

    def category(self, key: str | None) -> str:
        return self._both(CATEGORIES, key)

    def relief_type(self, key: str | None) -> str:
        return self._both(RELIEF_TYPES, key)

    def choice(self, field: str, value: str) -> str:
        """An option of the open-case form's select `field` (CHOICES), else the value."""
        return self._both(CHOICES.get(field, {}), value)

    def choice_short(self, field: str, value: str) -> str:
        """An option in this language only (a step in the history: 申请劳动仲裁)."""
        return _pick(CHOICES.get(field, {}), value, self.index)

    def labelled(self, name: str, text: str) -> str:
        """`name：text` (`name: text` in English)."""
        return f"{name}：{text}" if self.index == 0 else f"{name}: {text}"

    def field_label(self, key: str) -> str:
        """A field's words (FIELDS), else its name."""
        return _pick(FIELDS, key, self.index)

    def pick(self, pair: object) -> str:
        """A recorded [Chinese, English] pair in this language, else what there is."""
        if isinstance(pair, list | tuple) and pair:
            return str(pair[self.index] if len(pair) > self.index else pair[0])
        return "" if pair is None else str(pair)

    def role(self, key: str | None) -> str:
        return _pick(ROLES, key, self.index) if key else "-"

    def case_type(self, key: str | None) -> str:
        return self._both(CASE_TYPES, key)

    def notice(self, code: str | None) -> str | None:
        pair = NOTICES.get(code or "")
        return None if pair is None else pair[self.index]

    def event(self, type_: str, payload: dict[str, Any]) -> str:
        """An event in words: `task.approved` at the grassroots review is 基层初审通过."""
        pair = EVENTS.get(type_)
        if pair is None:
            return type_
        return pair[self.index].format(
            stage=self.stage_short(payload.get("stage") if isinstance(payload, dict) else None),
            to_stage=self.stage_short(payload.get("to_stage")),
            outcome=self.outcome(payload.get("outcome")),
            deadline=self.deadline_label(payload.get("label"), payload.get("name")),
        )

    def deadline_label(self, label: object, name: object = None) -> str:
        """A case deadline as people call it: its label (zh, en) in this language, else
        its name."""
        if isinstance(label, list | tuple) and len(label) == 2 and all(label):
            return str(label[self.index])
        if isinstance(name, str) and name:
            return name
        return ("期限", "deadline")[self.index]

    def _both(self, table: dict[str, Pair], key: str | None) -> str:
        if not key:
            return "-"
        pair = table.get(key)
        if pair is None:
            return key
        return f"{pair[0]} {pair[1]}" if self.index == 0 else pair[1]
