"""Page text in Chinese (default) and English. Domain terms keep both names."""

from __future__ import annotations

LANGS = ("zh", "en")

STAGES = {
    "grassroots_review": ("基层初审", "grassroots review"),
    "home_visit": ("入户调查", "home visit"),
    "public_notice": ("单位公示", "public notice"),
    "district_review": ("区县审核", "district review"),
    "district_approval": ("区县审批", "district approval"),
    "city_review": ("市总审核", "city review"),
    "city_approval": ("市总审批", "city approval"),
    "disbursement": ("资金发放", "disbursement"),
    "receipt_confirmation": ("到账确认", "receipt confirmation"),
    "registration": ("录入全国系统", "registration"),
    "filed": ("已归档", "filed"),
}

ACTIONS = {
    "claim": ("认领", "claim"),
    "approve": ("同意", "approve"),
    "reject": ("驳回", "reject"),
    "return": ("退回", "return"),
    "request-info": ("要求补充材料", "request info"),
    "provide-info": ("补充材料", "provide info"),
    "object": ("公示异议", "object"),
    "withdraw": ("撤回", "withdraw"),
    "comment": ("备注", "comment"),
}

TEXT = {
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
    "open_task": ("待办任务", "Open task"),
    "none": ("无", "none"),
    "unclaimed": ("未认领", "unclaimed"),
    "history": ("办理记录", "History"),
    "act": ("办理", "Act"),
    "action": ("操作", "Action"),
    "comment": ("意见/原因", "Comment / reason"),
    "data": ("附加数据（JSON，入户调查记录等）", "Data (JSON, e.g. home-visit findings)"),
    "submit": ("提交", "Submit"),
    "done": ("已办理", "Done"),
    "refused": ("操作被拒绝", "Refused"),
    "new_case": ("困难职工帮扶立案", "Open a hardship relief case"),
    "open_case": ("立案", "Open case"),
    "time": ("时间", "Time"),
    "event": ("事件", "Event"),
    "actor": ("操作人", "Actor"),
    "waiting_info": ("等待补充材料", "waiting for information"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"),
    "phone": ("手机号", "Phone"),
    "employer": ("工作单位", "Employer"),
    "bank_account": ("银行账号", "Bank account"),
    "household_size": ("家庭人口", "Household size"),
    "monthly_income": ("家庭月收入（元）", "Household monthly income (yuan)"),
    "category": ("困难类别", "Category"),
    "relief_type": ("救助类型", "Relief type"),
    "requested_amount": ("申请金额（元）", "Requested amount (yuan)"),
    "reason": ("申请理由", "Reason"),
    "invalid": ("申请材料无效", "Invalid application"),
}


def translator(lang: str):  # type: ignore[no-untyped-def]
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = TEXT.get(key)
        return pair[index] if pair else key

    def stage(key: str) -> str:
        pair = STAGES.get(key)
        return f"{pair[0]} {pair[1]}" if pair and index == 0 else (pair[1] if pair else key)

    def action(key: str) -> str:
        pair = ACTIONS.get(key)
        return pair[index] if pair else key

    return t, stage, action
